"""Rich values: texts, images, histograms, tables and HTML in run.log
(docs/run-log-format.md, "Rich values"), their files under media/, and
the bad input and failures the issue names. Tests that need NumPy skip
without it; the rest use the standard library only."""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any, Dict, List

import pytest

import runlog
from runlog import _format, _media
from conftest import FIXTURES
from test_failures import fill, tiny_fs, wait_for  # noqa: F401  (tiny_fs is a fixture)

try:
    import numpy as np
except ImportError:  # pragma: no cover - CI installs it
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="NumPy is not installed")


def records(run: runlog.Run, rtype: int) -> List[Dict[str, Any]]:
    data = Path(run.dir, "run.log").read_bytes()
    return [json.loads(r.payload) for r in _format.read_records(data).records if r.type == rtype]


def png_pixels(data: bytes) -> tuple:
    """Width, height, channels and the raw rows of a PNG our encoder wrote
    (filter 0 on every row)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(tag + body)
        if tag == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color = ihdr[:4]
    c = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    raw = zlib.decompress(idat)
    rows = [raw[i * (1 + w * c) : (i + 1) * (1 + w * c)] for i in range(h)]
    assert all(r[0] == 0 for r in rows)
    return w, h, c, b"".join(r[1:] for r in rows)


def write_png(path: Path, w: int, h: int) -> bytes:
    rows = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(w * 3)) for y in range(h))
    data = _media._png(w, h, 3, rows)
    path.write_bytes(data)
    return data


# -- text ---------------------------------------------------------------------


def test_text_values(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"loss": 2.5, "sample": "Once upon a time <script>alert(1)</script>"}, step=800)
    run.log({"sample": "next"})  # text alone still takes a step
    run.log({"sample": b"caf\xe9 \xff"}, step=900)  # bytes that are not UTF-8
    run.log({"sample": "lone \udcff surrogate"}, step=901)
    run.log({"loss": 1.0})
    run.finish()
    texts = records(run, _format.TEXT)
    assert [(t["key"], t["step"]) for t in texts] == [("sample", 800), ("sample", 801), ("sample", 900), ("sample", 901)]
    assert texts[0]["text"] == "Once upon a time <script>alert(1)</script>"  # data, as it was given
    assert texts[2]["text"] == "caf\ufffd \ufffd" and texts[3]["text"] == "lone \ufffd surrogate"
    from conftest import run_log

    assert run_log(run).points["loss"] == [(800, 2.5), (902, 1.0)]


def test_text_over_the_limit_is_cut(home: Path, capfd: pytest.CaptureFixture) -> None:
    run = runlog.init(dir=str(home))
    run.log({"long": "é" * (_format.MAX_VALUE_TEXT // 2 + 10)}, step=1)
    run.finish()
    (t,) = records(run, _format.TEXT)
    assert len(t["text"].encode()) == _format.MAX_VALUE_TEXT and set(t["text"]) == {"é"}
    assert "kept its first" in capfd.readouterr().err


def test_media_dir_matches_go() -> None:
    """The same cases as internal/runfmt/media_test.go's TestMediaDir."""
    cases = {
        "samples": "samples",
        "val/samples": "val%2Fsamples",
        "../x": "%2E.%2Fx",
        "..": "%2E.",
        ".": "%2E",
        "a.b-c_D9": "a.b-c_D9",
        "loss (smoothed) 100%": "loss%20%28smoothed%29%20100%25",
        "λ": "%CE%BB",
        "a\\b": "a%5Cb",
        "a" * 190 + "/" + "b" * 60: "a" * 183 + "~d778da9fecbd237d",
        "λ" * 128: "%CE%BB" * 30 + "%CE~8330ab49ba28dbf7",
    }
    for key, want in cases.items():
        assert _format.media_dir(key) == want, key


def test_media_fixture_paths() -> None:
    """The media records of the shared fixture name files in their key's
    folder, as this client writes them."""
    data = (FIXTURES / "media.runlog").read_bytes()
    media = [json.loads(r.payload) for r in _format.read_records(data).records if r.type == _format.MEDIA]
    assert len(media) == 3
    for m in media:
        assert m["path"].startswith(f"media/{_format.media_dir(m['key'])}/{m['step']}-{m['sha256'][:16]}.")


# -- images -------------------------------------------------------------------


@needs_numpy
def test_numpy_image(home: Path) -> None:
    a = (np.arange(64 * 48 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    run = runlog.init(dir=str(home))
    run.log({"samples": runlog.Image(a, caption="epoch <1>")}, step=5)
    a[:] = 0  # the caller may change its array once log() returned
    run.finish()
    (m,) = records(run, _format.MEDIA)
    data = Path(run.dir, m["path"]).read_bytes()
    assert m["kind"] == "image" and m["format"] == "png" and (m["width"], m["height"]) == (64, 48)
    assert m["caption"] == "epoch <1>" and "index" not in m
    assert m["size"] == len(data) and m["sha256"] == hashlib.sha256(data).hexdigest()
    assert m["path"] == f"media/samples/5-{m['sha256'][:16]}.png"
    w, h, c, raw = png_pixels(data)
    assert (w, h, c) == (64, 48, 3) and raw == ((np.arange(64 * 48 * 3) % 251).astype(np.uint8)).tobytes()


@needs_numpy
def test_chw_float_and_gray_images(home: Path) -> None:
    chw = np.zeros((3, 4, 5), dtype=np.float32)
    chw[0] = 1.0  # red, in [0, 1]: scaled to 255
    gray = np.full((2, 3), 7, dtype=np.uint8)
    run = runlog.init(dir=str(home))
    run.log({"imgs": [runlog.Image(chw), runlog.Image(gray)]}, step=1)
    run.finish()
    m0, m1 = records(run, _format.MEDIA)
    assert (m0["index"], m1["index"]) == (0, 1) and (m0["width"], m0["height"]) == (5, 4)
    w, h, c, raw = png_pixels(Path(run.dir, m0["path"]).read_bytes())
    assert (w, h, c) == (5, 4, 3) and raw[:3] == b"\xff\x00\x00"
    assert png_pixels(Path(run.dir, m1["path"]).read_bytes()) == (3, 2, 1, b"\x07" * 6)


@needs_numpy
def test_image_over_the_limit_is_refused(home: Path) -> None:
    run = runlog.init(dir=str(home))
    for shape in [(1, 20000, 3), (4097, 4097)]:
        with pytest.raises(ValueError, match="16,777,216 pixels") as e:
            run.log({"big": runlog.Image(np.zeros(shape, dtype=np.uint8))})
        assert "16,384 on a side" in str(e.value)
    with pytest.raises(ValueError, match="not an image"):
        runlog.Image(np.zeros((2, 3, 7, 1)))
    run.finish()
    assert records(run, _format.MEDIA) == []


def test_image_file_kept_as_it_is_and_deduplicated(home: Path, tmp_path: Path) -> None:
    data = write_png(tmp_path / "x.png", 10, 6)
    run = runlog.init(dir=str(home))
    for step in (1, 2):
        run.log({"pic": runlog.Image(str(tmp_path / "x.png"))}, step=step)
    run.finish()
    m1, m2 = records(run, _format.MEDIA)
    assert (m1["step"], m2["step"]) == (1, 2) and m1["path"] == m2["path"]  # one file for the same bytes
    assert Path(run.dir, m1["path"]).read_bytes() == data and (m1["width"], m1["height"]) == (10, 6)
    assert len(list(Path(run.dir, "media", "pic").iterdir())) == 1


def test_image_bad_input(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("not an image")
    if "PIL" not in sys.modules:
        with pytest.raises(ValueError, match="not a PNG, JPEG, GIF or WebP"):
            runlog.Image(str(tmp_path / "x.txt"))
    with pytest.raises(TypeError, match="runlog.Image takes"):
        runlog.Image(42)


def test_hostile_keys_stay_in_media(home: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "x.png", 2, 2)
    run = runlog.init(dir=str(home))
    run.log({"../../escape": runlog.Image(str(tmp_path / "x.png")), "a/b": runlog.Html("<p>x</p>")}, step=0)
    run.finish()
    media = Path(run.dir, "media").resolve()
    paths = [Path(run.dir, m["path"]).resolve() for m in records(run, _format.MEDIA)]
    assert len(paths) == 2 and all(media in p.parents and p.is_file() for p in paths)
    assert sorted(p.parent.name for p in paths) == ["%2E.%2F..%2Fescape", "a%2Fb"]


# -- histograms ---------------------------------------------------------------


def test_histogram_counts_nan_and_inf_apart(home: Path) -> None:
    vals = [0.0, 1.0, 1.0, 2.0, math.nan, math.inf, math.inf, -math.inf]
    run = runlog.init(dir=str(home))
    run.log({"h": runlog.Histogram(vals, num_bins=2)}, step=3)
    run.log({"empty": runlog.Histogram([math.nan])}, step=3)
    run.finish()
    h, e = records(run, _format.HISTOGRAM)
    assert h == {"key": "h", "step": 3, "time": h["time"], "edges": [0.0, 1.0, 2.0], "counts": [1.0, 3.0],
                 "nan": 1, "inf": 2, "ninf": 1}
    assert e["counts"] == [0.0] and e["nan"] == 1


@needs_numpy
def test_numpy_histogram(home: Path) -> None:
    a = np.random.default_rng(0).normal(size=100_000).astype(np.float32)
    a[:7] = np.nan
    hist = runlog.Histogram(a, num_bins=32)
    run = runlog.init(dir=str(home))
    run.log({"grads": hist, "given": runlog.Histogram(np_histogram=np.histogram([1, 2, 2, 3], bins=3))}, step=0)
    run.finish()
    h, g = records(run, _format.HISTOGRAM)
    assert len(h["counts"]) == 32 and sum(h["counts"]) == 100_000 - 7 and h["nan"] == 7
    assert hist.histogram == h["counts"] and hist.bins == h["edges"]
    assert g["counts"] == [1.0, 2.0, 1.0] and len(g["edges"]) == 4


def test_histogram_bad_input() -> None:
    with pytest.raises(ValueError, match="1 to 512"):
        runlog.Histogram([1.0], num_bins=513)
    with pytest.raises(ValueError, match="one edge more"):
        runlog.Histogram(np_histogram=([1, 2], [0, 1]))
    with pytest.raises(ValueError, match="increasing"):
        runlog.Histogram(np_histogram=([1, 2], [0, 2, 1]))
    with pytest.raises(TypeError, match="takes numbers"):
        runlog.Histogram(["a"])


# -- tables and HTML ----------------------------------------------------------


def test_table(home: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "x.png", 3, 2)
    t = runlog.Table(columns=["prompt", "sample", "score", "pic"])
    t.add_data("<script>alert(1)</script>", "Once", 0.5, runlog.Image(str(tmp_path / "x.png")))
    t.add_data("b", "NaN is a value", math.nan, None)
    run = runlog.init(dir=str(home))
    run.log({"val/table": t}, step=2)
    t.add_data("later", "not logged", 1, None)  # after log(): not in the logged table
    run.finish()
    (m,) = records(run, _format.MEDIA)
    assert m["kind"] == "table" and m["rows"] == 2 and m["columns"] == ["prompt", "sample", "score", "pic"]
    assert m["path"].endswith(".table.json") and m["path"].startswith("media/val%2Ftable/2-")
    doc = json.loads(Path(run.dir, m["path"]).read_text())
    assert doc["data"][0][0] == "<script>alert(1)</script>" and doc["data"][1][2] == "NaN"
    img = doc["data"][0][3]["image"]
    assert (img["width"], img["height"]) == (3, 2) and Path(run.dir, img["path"]).is_file()


def test_table_row_length_names_the_column() -> None:
    t = runlog.Table(columns=["prompt", "sample", "score"])
    with pytest.raises(ValueError, match="no cell for column 'score'"):
        t.add_data("a", "b")
    with pytest.raises(ValueError, match="4 cells for 3 columns"):
        t.add_data("a", "b", 1, 2)
    with pytest.raises(ValueError, match="no cell for column 'sample'"):
        runlog.Table(columns=["prompt", "sample"], data=[["a", "b"], ["c"]])
    with pytest.raises(TypeError, match="column 'prompt'"):
        t.add_data(object(), "b", 1)
    assert t.data == []


def test_html_is_stored_not_run(home: Path) -> None:
    run = runlog.init(dir=str(home))
    run.log({"page": runlog.Html("<script>alert(1)</script><b>x</b>")}, step=0)
    run.finish()
    (m,) = records(run, _format.MEDIA)
    assert m["kind"] == "html" and m["format"] == "html"
    assert Path(run.dir, m["path"]).read_text() == "<script>alert(1)</script><b>x</b>"


# -- failures -----------------------------------------------------------------


def test_disk_full_while_writing_images(tiny_fs: Path, tmp_path: Path, fast, capfd: pytest.CaptureFixture) -> None:
    """The disk fills up while images are written: training goes on (log()
    returns at once, no exception), one warning, and finish() reports how
    many values were lost; the run's records are all there once space is
    back."""
    write_png(tmp_path / "x.png", 60, 60)  # ~10 KB, outside the full file system
    run = runlog.init(dir=str(tiny_fs / "home"))
    run.log({"loss": 0.0, "pic": runlog.Image(str(tmp_path / "x.png"))}, step=0)
    wait_for(lambda: records(run, _format.MEDIA))
    fill(tiny_fs / "filler")
    for step in range(1, 6):
        big = runlog.Html("<p>" + str(step) * 20_000 + "</p>")  # distinct files of 20 KB
        run.log({"loss": float(step), "page": big}, step=step)
    wait_for(lambda: run._media.lost == 5)
    err = capfd.readouterr().err
    assert err.count("runlog:") == 1 and "No space left on device" in err and "training continues" in err
    os.remove(tiny_fs / "filler")
    run.finish()
    err = capfd.readouterr().err
    assert "5 images, tables, HTML or histograms could not be written" in err
    from conftest import run_log

    log = run_log(run)
    assert log.values("loss") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and log.status["status"] == "finished"
    assert [m["key"] for m in records(run, _format.MEDIA)] == ["pic"]
    assert not list(Path(run.dir, "media").rglob(".*tmp*"))  # no temporary file left


def test_wandb_script(home: Path) -> None:
    """An ordinary wandb script, with runlog imported as wandb."""
    script = textwrap.dedent(
        f"""
        import runlog as wandb
        run = wandb.init(project="demo", dir={str(home)!r})
        table = wandb.Table(columns=["step", "sample"])
        for step in range(3):
            sample = "Once upon a time " * (step + 1)
            table.add_data(step, sample)
            wandb.log({{"loss": 1.0 / (step + 1), "sample": sample,
                        "grads": wandb.Histogram([0.1, 0.2, step]),
                        "page": wandb.Html("<i>hi</i>")}}, step=step)
        wandb.log({{"samples": table}})
        wandb.finish()
        print(run.dir)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip()
    data = Path(folder, "run.log").read_bytes()
    types = [r.type_name for r in _format.read_records(data).records]
    assert types.count("text") == 3 and types.count("histogram") == 3 and types.count("media") == 4
    assert "numpy" not in out.stderr


def test_no_heavy_imports(home: Path) -> None:
    """Logging rich values imports neither NumPy, PIL nor torch."""
    script = textwrap.dedent(
        f"""
        import sys, runlog
        run = runlog.init(dir={str(home)!r})
        t = runlog.Table(columns=["a"], data=[["x"]])
        run.log({{"s": "text", "h": runlog.Histogram([1.0, 2.0]), "t": t, "p": runlog.Html("x")}})
        run.finish()
        print(sorted(m for m in ("numpy", "PIL", "torch") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_matplotlib_figure(home: Path) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    run = runlog.init(dir=str(home))
    run.log({"fig": runlog.Image(fig), "current": runlog.Image(plt)}, step=0)
    run.finish()
    m1, m2 = records(run, _format.MEDIA)
    assert (m1["width"], m1["height"]) == (100, 50) and m1["format"] == "png" and m2["width"] == 100


def test_served_by_the_go_server(runlog_bin: str, home: Path, tmp_path: Path) -> None:
    """What the Python client writes, the Go side indexes and serves: the
    keys, a text beside a metric at a step, an image's very bytes."""
    import urllib.parse
    import urllib.request

    from conftest import Server

    data = write_png(tmp_path / "x.png", 8, 5)
    run = runlog.init(dir=str(home), name="py-rich")
    for step in range(3):
        run.log({"loss": 3.0 - step, "sample": f"<script>step {step}</script>", "pic": runlog.Image(str(tmp_path / "x.png")),
                 "grads": runlog.Histogram([0.0, float(step), math.nan])}, step=step * 100)
    run.finish()
    server = Server(runlog_bin, home).start()
    try:
        def get(path: str) -> Any:
            with urllib.request.urlopen(server.url + path, timeout=10) as r:
                body = r.read()
                return json.loads(body) if r.headers.get_content_type() == "application/json" else body

        base = f"/api/v1/runs/{run.id}"
        deadline = time.monotonic() + 30
        while True:
            try:
                keys = get(base + "/media")["keys"]
                if len(keys) == 3:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not index the run"
            time.sleep(0.1)
        assert [(k["key"], k["kind"], k["count"], k["last_step"]) for k in keys] == [
            ("grads", "histogram", 3, 200), ("pic", "image", 3, 200), ("sample", "text", 3, 200)]
        assert keys[2]["last_text"] == "<script>step 2</script>"
        side = get("/api/v1/text?" + urllib.parse.urlencode({"runs": run.id, "key": "sample", "step": 150, "metric": "loss"}))
        assert side["runs"][0]["step"] == 100 and side["runs"][0]["text"] == "<script>step 1</script>"
        assert side["runs"][0]["metric"] == {"step": 100, "value": 2.0}
        (entry,) = get(base + "/media/entries?key=pic&step=200")["entries"]
        assert get(entry["url"]) == data
        hist = get(base + "/histograms?key=grads")["histograms"]
        assert [h["nan"] for h in hist] == [1, 1, 1] and hist[2]["edges"][-1] == 2.0
    finally:
        server.stop()
