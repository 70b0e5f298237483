"""Uploading registered files to the server (docs/team-server.md, "Files
from clients"): against the real Go `runlog ui`, as test_stream.py. The
server's copy of each file must equal the local one byte for byte; the
queue in uploads.json is the Go client's format, which `runlog sync` and a
resumed run read."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import pytest

import runlog
from runlog import _stream, _upload, _writer
from conftest import REPO_ROOT
from test_stream import Steps, wait_for

VECTORS = REPO_ROOT / "internal" / "remote" / "testdata" / "upload_policy.json"
ALL = ["artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt", "checkpoints/step-300.pt",
       "checkpoints/step-400.pt"]


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends every 100 ms, retries from 0.1 s on, to at most 0.5 s."""
    monkeypatch.setattr(_writer, "FLUSH_INTERVAL", 0.05)
    monkeypatch.setattr(_stream, "STREAM_EVERY", 0.1)
    monkeypatch.setattr(_stream, "MIN_BACKOFF", 0.1)
    monkeypatch.setattr(_stream, "MAX_BACKOFF", 0.5)
    monkeypatch.setattr(_upload, "UPLOAD_EVERY", 0.1)


def save_checkpoints(run: runlog.Run, src: Path, losses=(3.0, 2.0, 2.5, 2.8)) -> Dict[str, bytes]:
    """Registers checkpoints with these validation losses (by default the
    second is the best, the fourth the latest) and a model file, as a
    training loop does; returns their contents by recorded path."""
    src.mkdir(parents=True, exist_ok=True)
    files: Dict[str, bytes] = {}
    for i, loss in enumerate(losses):
        name = f"step-{(i + 1) * 100}.pt"
        data = os.urandom(100_000 + i)
        (src / name).write_bytes(data)
        assert run.log_artifact(src / name, step=(i + 1) * 100, metadata={"val_loss": loss}) == "checkpoints/" + name
        files["checkpoints/" + name] = data
    if len(losses) == 4:
        (src / "model.onnx").write_bytes(b"a model")
        assert run.log_artifact(src / "model.onnx", kind="model") == "artifacts/model.onnx"
        files["artifacts/model.onnx"] = b"a model"
    return files


def on_server(server, run_id: str) -> Dict[str, bytes]:
    folder = server.home / "runs" / run_id
    out = {}
    for sub in ("artifacts", "checkpoints"):
        for p in sorted((folder / sub).glob("*")) if (folder / sub).is_dir() else []:
            out[f"{sub}/{p.name}"] = p.read_bytes()
    return out


def uploads(run: runlog.Run) -> dict:
    return json.loads((Path(run.dir) / "uploads.json").read_text())


def pending(run: runlog.Run) -> List[str]:
    return [f["path"] for f in uploads(run)["pending"]]


def test_policy_vectors() -> None:
    """The cases Go's internal/remote tests read too: both clients choose
    and queue the same files."""
    cases = json.loads(VECTORS.read_text())["cases"]
    assert cases
    for case in cases:
        for policy, want in case["policies"].items():
            ch, st = _upload.Chooser(policy), _upload.UploadState()
            choose = []
            for a in case["artifacts"]:
                up, last = ch.choose(a)
                choose.append([up, last])
                if up:
                    st.add({"path": a["path"], "size": 0, "sha256": a["path"], **({"last": True} if last else {})})
            assert choose == want["choose"], (case["name"], policy)
            assert [f["path"] for f in st.pending] == want["queue"], (case["name"], policy)


def test_policy_names(home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert _upload.parse_policy(None) == "best+last" == _upload.parse_policy(" Best+Last ")
    assert [_upload.parse_policy(p) for p in ("none", "best", "all")] == ["none", "best", "all"]
    with pytest.raises(ValueError, match="want none, best, best[+]last or all"):
        runlog.init(dir=str(home), url="http://127.0.0.1:9", upload="latest")
    # From the environment a wrong policy is a warning: the run goes on.
    monkeypatch.setenv("RUNLOG_UPLOAD", "latest")
    run = runlog.init(dir=str(home), url="http://127.0.0.1:9", stream_timeout=0.1)
    assert run._uploader is None
    run.finish()
    assert "upload policy 'latest': want none, best, best+last or all; no files are uploaded" in capsys.readouterr().err


@pytest.mark.parametrize("policy,want,not_want", [
    ("none", [], ALL),
    ("best", ["artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt"],
     ["checkpoints/step-300.pt", "checkpoints/step-400.pt"]),
    # step-300 may go up as the latest before step-400 replaces it.
    ("best+last", ["artifacts/model.onnx", "checkpoints/step-100.pt", "checkpoints/step-200.pt",
                   "checkpoints/step-400.pt"], []),
    ("all", ALL, []),
])
def test_each_policy(servers, home: Path, tmp_path: Path, quick, policy: str, want, not_want) -> None:
    server = servers().start()
    run = runlog.init(dir=str(home), url=server.url, upload=policy)
    Steps(run).log(100)
    files = save_checkpoints(run, tmp_path / "src")
    run.finish()
    got = on_server(server, run.id)
    for name in want:
        assert got.get(name) == files[name], f"the server's {name} is not the client's"
    for name in not_want:
        assert name not in got, f"policy {policy} uploaded {name}"
    if policy == "none":
        assert not (Path(run.dir) / "uploads.json").exists()
        return
    st = uploads(run)
    assert st["pending"] == [] and st["url"] == server.url and st["chooser"]["policy"] == policy
    assert {k: v for k, v in st["acked"].items() if k in want} == {
        n: hashlib.sha256(files[n]).hexdigest() for n in want}
    for name in files:  # the local files stay
        assert (Path(run.dir) / name).read_bytes() == files[name]


def test_server_down_then_back(servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    server = servers()  # not started: nothing listens on its port
    run = runlog.init(dir=str(home), url=server.url)
    steps = Steps(run)
    steps.log(100)
    files = save_checkpoints(run, tmp_path / "src")
    steps.log(100)
    time.sleep(0.5)
    # The files wait in the run folder's queue while the server is down.
    assert pending(run) == ["checkpoints/step-100.pt", "checkpoints/step-200.pt", "checkpoints/step-400.pt",
                            "artifacts/model.onnx"]
    assert "upload" not in capsys.readouterr().err  # the streamer's warning says the server is down
    server.start()
    wait_for(lambda: not pending(run), 15, "the queue to go", lambda: steps.log(10))
    got = on_server(server, run.id)
    for name in ("checkpoints/step-100.pt", "checkpoints/step-200.pt", "artifacts/model.onnx",
                 "checkpoints/step-400.pt"):
        assert got[name] == files[name]
    assert "checkpoints/step-300.pt" not in got  # replaced as the latest while it waited
    run.finish()
    assert "not uploaded" not in capsys.readouterr().err


def test_finish_unreachable_then_sync(runlog_bin: str, servers, home: Path, tmp_path: Path, quick,
                                      monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(_upload, "UPLOAD_TIMEOUT", 1.0)
    server = servers().start()
    run = runlog.init(dir=str(home), url=server.url, upload="all", stream_timeout=0.5)
    Steps(run).log(100)
    wait_for(lambda: run._writer.stream.acked > 0, 5, "the server to hold the run")
    server.kill()
    files = save_checkpoints(run, tmp_path / "src")
    run.finish()
    err = capsys.readouterr().err
    assert f"5 files are not uploaded to {server.url} yet" in err and f"`runlog sync {run.id}` sends them" in err
    assert sorted(pending(run)) == ALL
    server.start()
    # sync's own choice (best+last) would leave step-100 and step-300 out:
    # that they go shows it sends the queue the Python client left.
    res = subprocess.run([runlog_bin, "--home", str(home), "sync", "--url", server.url, run.id],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert on_server(server, run.id) == files
    assert pending(run) == []
    assert set(uploads(run)["acked"]) == set(ALL)


def test_resumed_run_continues_the_queue(servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    server = servers()  # down during the first session
    run = runlog.init(dir=str(home), id="resumed", url=server.url, upload="best", stream_timeout=0.2)
    Steps(run).log(100)
    files = save_checkpoints(run, tmp_path / "src")
    run.finish()
    assert "3 files are not uploaded" in capsys.readouterr().err
    assert pending(run) == ["checkpoints/step-100.pt", "checkpoints/step-200.pt", "artifacts/model.onnx"]
    assert uploads(run)["chooser"] == {"policy": "best", "best_key": "val_loss", "best": 2.0}

    server.start()
    run = runlog.init(dir=str(home), id="resumed", resume="allow", url=server.url, upload="best")
    # The resumed run judges "best" against the first session's: 2.1 is not.
    src = tmp_path / "src2"
    src.mkdir()
    (src / "worse.pt").write_bytes(b"worse")
    run.log_artifact(src / "worse.pt", metadata={"val_loss": 2.1})
    (src / "better.pt").write_bytes(b"better")
    run.log_artifact(src / "better.pt", metadata={"val_loss": 1.5})
    files["checkpoints/better.pt"] = b"better"
    run.finish()
    got = on_server(server, run.id)
    assert got == {k: files[k] for k in ("checkpoints/step-100.pt", "checkpoints/step-200.pt",
                                         "artifacts/model.onnx", "checkpoints/better.pt")}
    assert pending(run) == [] and "not uploaded" not in capsys.readouterr().err


def test_deleted_before_upload_is_given_up(servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    server = servers()
    run = runlog.init(dir=str(home), url=server.url, upload="all")
    Steps(run).log(10)
    files = save_checkpoints(run, tmp_path / "src", losses=(1.0, 0.5))
    os.remove(Path(run.dir) / "checkpoints" / "step-100.pt")  # runlog checkpoints --keep-last, say
    server.start()
    run.finish()
    assert on_server(server, run.id) == {"checkpoints/step-200.pt": files["checkpoints/step-200.pt"]}
    assert pending(run) == []
    assert "checkpoints/step-100.pt was deleted before it was uploaded" in capsys.readouterr().err


def test_offline_and_attached_never_upload(home: Path, tmp_path: Path) -> None:
    run = runlog.init(dir=str(home), url="http://127.0.0.1:9", mode="offline", upload="all")
    save_checkpoints(run, tmp_path / "src", losses=(1.0,))
    run.finish()
    assert run._uploader is None and not (Path(run.dir) / "uploads.json").exists()


def test_put_file_answers(servers, home: Path, tmp_path: Path, quick, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PUT itself: acknowledged with the size and sha256 sent; a body
    that does not match its sha256, or a path outside the uploaded folders,
    refused with a 400 that says why; the same content again acknowledged
    as deduplicated."""
    # Today the server's answers given before the body (deduplicated,
    # refused) reach the client only once it sends the body anyway, after
    # waiting for a 100 Continue that does not come: wait less here.
    monkeypatch.setattr(_upload, "CONTINUE_TIMEOUT", 0.5)
    server = servers().start()
    run = runlog.init(dir=str(home), url=server.url, upload="none", stream_timeout=0.2)
    Steps(run).log(10)
    wait_for(lambda: run._writer.stream.acked > 0, 5, "the server to hold the run")
    client = run._writer.stream.client
    data = os.urandom(3 << 20)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    ans = _upload.put_file(client, run.id, "checkpoints/big.bin", str(f), digest)
    assert ans["size"] == len(data) and ans["sha256"] == digest
    assert (server.home / "runs" / run.id / "checkpoints" / "big.bin").read_bytes() == data
    again = _upload.put_file(client, run.id, "checkpoints/big.bin", str(f), digest)
    assert again["size"] == len(data) and again["deduplicated"] is True
    with pytest.raises(_upload.FileError) as e:
        _upload.put_file(client, run.id, "checkpoints/other.bin", str(f), "0" * 64)
    assert e.value.code == 400 and not e.value.transient and "sha256" in str(e.value)
    with pytest.raises(_upload.FileError) as e:
        _upload.put_file(client, run.id, "notes/big.bin", str(f), digest)
    assert e.value.code == 400, str(e.value)
    assert not (server.home / "runs" / run.id / "checkpoints" / "other.bin").exists()
    server.kill()
    with pytest.raises(_upload.FileError) as e:
        _upload.put_file(client, run.id, "checkpoints/big.bin", str(f), digest)
    assert e.value.code == 0 and e.value.transient
    run.finish()


GO_CLIENT = """// A Go client run for the Python client's upload tests: go RUN_HOME ID URL
// POLICY FILE... resumes (or starts) run ID, registers each FILE as a
// checkpoint with val_loss from its name's number, and finishes.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"path/filepath"
	"time"

	"github.com/runlog/runlog"
)

func main() {
	home, id, url, policy := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	r, err := runlog.Init(runlog.Options{Home: home, ID: id, Resume: "allow", URL: url, Upload: policy,
		DisableGit: true, StreamTimeout: 500 * time.Millisecond, UploadTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, f := range os.Args[5:] {
		loss, _ := strconv.ParseFloat(strings.TrimSuffix(filepath.Base(f), ".pt"), 64)
		if err := r.LogArtifact(f, runlog.Artifact{Kind: "checkpoint", Step: -1, Metadata: map[string]any{"val_loss": loss}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := r.Finish(0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
"""


@pytest.fixture(scope="module")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Go program on the root package (runlog.Init, LogArtifact, Finish):
    go-client HOME ID URL POLICY FILE... resumes or starts run ID and
    registers each FILE as a checkpoint whose val_loss is its name."""
    if shutil.which("go") is None or not (REPO_ROOT / "go.mod").exists():
        pytest.skip("the Go client's interop needs go and the repository")
    d = tmp_path_factory.mktemp("goclient")
    (d / "main.go").write_text(GO_CLIENT)
    (d / "go.mod").write_text("module uploadinterop\n\ngo 1.26.0\n\nrequire github.com/runlog/runlog v0.0.0\n\n"
                              f"replace github.com/runlog/runlog => {REPO_ROOT}\n")
    shutil.copy(REPO_ROOT / "go.sum", d / "go.sum")
    res = subprocess.run(["go", "build", "-o", str(d / "go-client"), "."], cwd=d, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, GOFLAGS="-mod=mod", CGO_ENABLED="0"))
    assert res.returncode == 0, res.stderr
    return str(d / "go-client")


def go_run(go_client: str, home: Path, run_id: str, url: str, policy: str, *files: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNLOG_")}
    res = subprocess.run([go_client, str(home), run_id, url, policy, *map(str, files)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    return res.stderr


def test_go_client_resumes_the_python_queue(go_client: str, servers, home: Path, tmp_path: Path, quick,
                                            capsys) -> None:
    server = servers()  # down while Python runs
    run = runlog.init(dir=str(home), id="py-then-go", url=server.url, upload="best", stream_timeout=0.2)
    Steps(run).log(10)
    files = save_checkpoints(run, tmp_path / "src")
    run.finish()
    assert pending(run) == ["checkpoints/step-100.pt", "checkpoints/step-200.pt", "artifacts/model.onnx"]
    server.start()
    src = tmp_path / "go"
    src.mkdir()
    for name, data in (("2.1.pt", b"not the best"), ("1.5.pt", b"the best")):
        (src / name).write_bytes(data)
    go_run(go_client, home, run.id, server.url, "best", src / "2.1.pt", src / "1.5.pt")
    files["checkpoints/1.5.pt"] = b"the best"
    # The Go client sent the Python client's queue, and judged "best"
    # against the Python client's best (2.0): 2.1 is not.
    assert on_server(server, run.id) == {k: files[k] for k in (
        "artifacts/model.onnx", "checkpoints/1.5.pt", "checkpoints/step-100.pt", "checkpoints/step-200.pt")}
    assert pending(run) == []


def test_python_resumes_the_go_queue(go_client: str, servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    server = servers()  # down while Go runs
    src = tmp_path / "go"
    src.mkdir()
    files = {}
    for name in ("3.pt", "2.pt", "2.5.pt"):
        files["checkpoints/" + name] = os.urandom(50_000)
        (src / name).write_bytes(files["checkpoints/" + name])
    err = go_run(go_client, home, "go-then-py", server.url, "best+last",
                 *(src / n for n in ("3.pt", "2.pt", "2.5.pt")))
    assert "3 files are not uploaded" in err, err
    st = json.loads((home / "runs" / "go-then-py" / "uploads.json").read_text())
    assert [f["path"] for f in st["pending"]] == ["checkpoints/3.pt", "checkpoints/2.pt", "checkpoints/2.5.pt"]
    server.start()
    run = runlog.init(dir=str(home), id="go-then-py", resume="allow", url=server.url)
    run.finish()
    assert on_server(server, run.id) == files
    assert pending(run) == [] and "not uploaded" not in capsys.readouterr().err


def test_token(servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    """A server with a token: the uploads carry it; with a wrong one
    nothing goes, finish() says where the files wait, and the queue is
    kept for `runlog sync`."""
    server = servers(token="s3cret-token").start()
    run = runlog.init(dir=str(home), url=server.url, token="s3cret-token", upload="all")
    files = save_checkpoints(run, tmp_path / "src", losses=(1.0, 2.0))
    run.finish()
    assert on_server(server, run.id) == files
    run = runlog.init(dir=str(home), url=server.url, token="wrong", upload="all", stream_timeout=0.5)
    save_checkpoints(run, tmp_path / "src2", losses=(1.0,))
    run.finish()
    err = capsys.readouterr().err
    assert "the server refused the token (401)" in err and "1 file is not uploaded" in err, err
    assert pending(run) == ["checkpoints/step-100.pt"]


def test_changed_before_upload_is_refused_and_dropped(servers, home: Path, tmp_path: Path, quick, capsys) -> None:
    """A checkpoint overwritten in the run folder after it was registered:
    the server refuses the content (its sha256 is not the registered one),
    the client drops it with a warning and sends the rest."""
    server = servers()
    run = runlog.init(dir=str(home), url=server.url, upload="all")
    Steps(run).log(10)
    files = save_checkpoints(run, tmp_path / "src", losses=(1.0, 0.5))
    (Path(run.dir) / "checkpoints" / "step-100.pt").write_bytes(os.urandom(100_000))  # same size, other bytes
    server.start()
    run.finish()
    assert on_server(server, run.id) == {"checkpoints/step-200.pt": files["checkpoints/step-200.pt"]}
    assert pending(run) == [] and "checkpoints/step-100.pt" not in uploads(run)["acked"]
    err = capsys.readouterr().err
    assert "checkpoints/step-100.pt: server answered 400" in err and "sha256" in err, err
