"""The encoder and reader against the shared fixtures of
internal/runfmt/testdata, byte for byte, as internal/runfmt/fixture_test.go
tests Go's writer."""

from __future__ import annotations

import math
import struct
from typing import Any, Dict, List

import pytest

import runlog
from runlog import _format
from conftest import FIXTURES, jsonl, run_log

NAMES = ["basic", "resume", "media"]

pytestmark = pytest.mark.skipif(
    not (FIXTURES / "basic.jsonl").exists(), reason=f"shared fixtures not found in {FIXTURES}"
)


def dump_float(v: Any) -> float:
    """A fixture number: a JSON number or "NaN" (0x7FF8000000000000),
    "Infinity", "-Infinity"."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return {"NaN": _format.NAN, "Infinity": math.inf, "-Infinity": -math.inf}[v]


def dump_number(f: float) -> Any:
    if f != f:
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def encode_dump(records: List[Dict[str, Any]]) -> bytes:
    out = bytearray(_format.MAGIC)
    for d in records:
        t = _format.TYPES_BY_NAME[d["type"]]
        if t == _format.KEY:
            out += _format.encode_key(d["seq"], d["id"], d["name"])
        elif t == _format.METRICS:
            pairs = [(int(k), dump_float(v)) for k, v in d["values"]]
            out += _format.encode_metrics(d["seq"], d["step"], dump_float(d["time"]), pairs)
        elif t == _format.HEARTBEAT:
            out += _format.encode_heartbeat(d["seq"], dump_float(d["time"]))
        else:
            out += _format.encode_record(t, d["seq"], d["json"].encode("utf-8"))
    return bytes(out)


def decode_dump(data: bytes) -> List[Dict[str, Any]]:
    res = _format.read_records(data)
    assert res.torn == 0 and not res.skipped
    out = []
    for rec in res.records:
        d: Dict[str, Any] = {"seq": rec.seq, "type": rec.type_name}
        if rec.type == _format.KEY:
            d["id"], d["name"] = rec.key()
        elif rec.type == _format.METRICS:
            step, t, pairs = rec.metrics()
            d["step"], d["time"] = step, dump_number(t)
            d["values"] = [[k, dump_number(v)] for k, v in pairs]
        elif rec.type == _format.HEARTBEAT:
            d["time"] = dump_number(rec.heartbeat())
        else:
            d["json"] = rec.payload.decode("utf-8")
        out.append(d)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_fixture_write(name: str) -> None:
    got = encode_dump(jsonl(name))
    want = (FIXTURES / f"{name}.runlog").read_bytes()
    assert got == want, f"encoder output differs from {name}.runlog ({len(got)} vs {len(want)} bytes)"


@pytest.mark.parametrize("name", NAMES)
def test_fixture_read(name: str) -> None:
    got = decode_dump((FIXTURES / f"{name}.runlog").read_bytes())
    want = jsonl(name)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if "values" in w:  # the .jsonl writes whole numbers as 4.0 or 4; compare as numbers
            w = dict(w, values=[[k, dump_number(dump_float(v))] for k, v in w["values"]])
        assert g == w


def test_fixture_values_exact() -> None:
    """NaN, -0 and the infinities keep their bits."""
    data = (FIXTURES / "basic.runlog").read_bytes()
    bits = lambda f: struct.unpack("<Q", struct.pack("<d", f))[0]  # noqa: E731
    want = {
        2: [0x7FF8000000000000, bits(-0.0), bits(math.inf)],
        3: [bits(-math.inf), bits(1e-300), bits(1.7976931348623157e308)],
    }
    for rec in _format.read_records(data).records:
        if rec.type == _format.METRICS:
            step, _, pairs = rec.metrics()
            if step in want:
                assert [bits(v) for _, v in pairs] == want.pop(step)
    assert not want


def test_scan_fixture() -> None:
    data = (FIXTURES / "resume.runlog").read_bytes()
    st = _format.scan(data)
    assert st.header["id"] == "r7m2q4zz"
    assert st.keys == {"train_loss": 0} and st.next_key == 1
    assert st.last_seq == 13 and st.last_step == 5
    assert st.status == "finished" and st.end == len(data) and st.torn == 0


def test_torn_tail_and_corruption() -> None:
    data = (FIXTURES / "basic.runlog").read_bytes()
    torn = _format.read_records(data[:-3])
    assert len(torn.records) == 17 and torn.torn > 0 and torn.end + torn.torn == len(data) - 3
    st = _format.scan(data[:-3])
    assert st.status == "running" and st.last_seq == 17

    # A damaged record in the middle is skipped; the records after it are read.
    recs = _format.read_records(data).records
    bad = bytearray(data)
    bad[recs[6].offset + 20] ^= 0xFF  # inside the first metrics record's body
    res = _format.read_records(bytes(bad))
    assert [r.seq for r in res.records] == [r.seq for r in recs if r.seq != recs[6].seq]
    assert len(res.skipped) == 1 and res.skipped[0].offset == recs[6].offset and res.torn == 0

    with pytest.raises(_format.NotRunLogError):
        _format.read_records(b"NOTALOG!" + data[8:])


def test_hot_path_matches_reference_encoder(home, monkeypatch) -> None:
    """Records that Run.log builds inline are the bytes encode_metrics and
    encode_key produce (the encoders the fixtures check)."""
    from runlog import _run

    clock = iter([1764201600.75, 1764201601.0, 1764201601.125, 1764201601.5, 1764201602.0])
    monkeypatch.setattr(_run, "_time", lambda: next(clock))
    run = runlog.init(dir=str(home))
    run.log({"train_loss": 6.914499759674072, "learning_rate": 0.00012, "tokens_per_sec": 8543.2})
    run.log({"train_loss": 6.5, "learning_rate": 0.00024, "tokens_per_sec": 8621.5})  # fast path
    run.log({"val_loss": 5.25, "val/perplexity (ünïcode)": 190.56626845863}, step=1)
    run.log({"train_loss": _format.NAN, "learning_rate": -0.0, "tokens_per_sec": math.inf}, step=2)
    run.log({"train_loss": -math.inf, "learning_rate": 1e-300, "tokens_per_sec": 1.7976931348623157e308})
    monkeypatch.undo()
    run.finish()
    data = open(f"{run.dir}/run.log", "rb").read()
    want = [d for d in jsonl("basic") if d["type"] in ("key", "metrics")]
    got = [r for r in _format.read_records(data).records if r.type in (_format.KEY, _format.METRICS)]
    assert len(got) == len(want) == 10
    for rec, d in zip(got, want):
        raw = data[rec.offset : rec.offset + 17 + len(rec.payload)]
        if rec.type == _format.KEY:
            assert (d["type"], d["id"], d["name"]) == ("key", *rec.key())
            assert raw == _format.encode_key(rec.seq, d["id"], d["name"])
        else:
            pairs = [(int(k), dump_float(v)) for k, v in d["values"]]
            assert raw == _format.encode_metrics(rec.seq, d["step"], dump_float(d["time"]), pairs)
    log = run_log(run)
    assert struct.pack("<d", log.values("train_loss")[2]) == struct.pack("<Q", 0x7FF8000000000000)
    assert math.copysign(1, log.values("learning_rate")[2]) == -1
