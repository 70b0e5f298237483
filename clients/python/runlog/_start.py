"""init(): creating, resuming and attaching to runs; distributed ranks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _binary, _format, _hooks, _stream, _upload, _writer
from ._buffer import Buffer
from ._config import config_file_bytes
from ._run import Run
from ._values import as_dict, check_names, jsonable
from ._version import VERSION
from ._warn import warn

# getpass, platform, secrets, socket and subprocess are imported where they
# are used: `import runlog` stays cheap (docs/install.md, its import time).

WRITER = f"runlog-python/{VERSION}"

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ID_RE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}$")

#: init() arguments of wandb that runlog accepts and ignores.
WANDB_IGNORED = frozenset(
    {
        "entity",
        "reinit",
        "job_type",
        "settings",
        "save_code",
        "magic",
        "anonymous",
        "force",
        "allow_val_change",
        "sync_tensorboard",
        "tensorboard",
        "monitor_gym",
        "fork_from",
        "resume_from",
    }
)
_warned_ignored = False


def home_dir(explicit: Optional[str]) -> str:
    """The runlog home: explicit, else $RUNLOG_HOME, else ./runlog (absolute)."""
    return os.path.abspath(explicit or os.environ.get("RUNLOG_HOME") or "runlog")


def new_id() -> str:
    """A random run id of 8 lower-case letters and digits."""
    import secrets

    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def check_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not _ID_RE.match(run_id):
        raise ValueError(
            f"runlog: invalid run id {run_id!r}: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
        )


def _env_int(name: str) -> Optional[int]:
    v = os.environ.get(name, "").strip()
    try:
        return int(v) if v else None
    except ValueError:
        return None


def _truthy(v: Optional[str]) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def dist_info() -> Tuple[int, int, int]:
    """(rank, local rank, world size) from RANK, LOCAL_RANK and WORLD_SIZE
    (torchrun, torch.distributed.launch, accelerate, SLURM's launchers set
    them); (0, 0, 1) when they are not set."""
    local = _env_int("LOCAL_RANK")
    rank = _env_int("RANK")
    if rank is None:
        rank = local if local is not None else 0
    return rank, (local if local is not None else rank), _env_int("WORLD_SIZE") or 1


def dist_group(name: str, project: str) -> str:
    """The group of all ranks of one distributed launch when every rank logs.

    Every rank computes the same name from what the launcher put in the
    environment of all of them, without communicating: ``<name or
    project>-ddp-<8 hex digits>``, the digits being a hash of the first of
    TORCHELASTIC_RUN_ID (torchrun's --rdzv-id, unless "none"), SLURM_JOB_ID
    (with SLURM_STEP_ID) and MASTER_ADDR:MASTER_PORT that is set.
    """
    elastic = os.environ.get("TORCHELASTIC_RUN_ID", "")
    if elastic and elastic != "none":
        ident = "elastic:" + elastic
    elif os.environ.get("SLURM_JOB_ID"):
        ident = f"slurm:{os.environ['SLURM_JOB_ID']}.{os.environ.get('SLURM_STEP_ID', '')}"
    elif os.environ.get("MASTER_ADDR") or os.environ.get("MASTER_PORT"):
        ident = f"master:{os.environ.get('MASTER_ADDR', '')}:{os.environ.get('MASTER_PORT', '')}"
    else:
        ident = "local"
    digest = hashlib.sha1(f"{ident}|{name}|{project}".encode()).hexdigest()[:8]
    return f"{name or project}-ddp-{digest}"


def init(
    project: Optional[str] = None,
    name: Optional[str] = None,
    config: Any = None,
    tags: Optional[Iterable[str]] = None,
    notes: Optional[str] = None,
    group: Optional[str] = None,
    dir: Optional[str] = None,
    id: Optional[str] = None,
    resume: Any = None,
    hypothesis: Optional[str] = None,
    *,
    all_ranks: Optional[bool] = None,
    mode: Optional[str] = None,
    config_exclude_keys: Optional[Iterable[str]] = None,
    config_include_keys: Optional[Iterable[str]] = None,
    url: Optional[str] = None,
    token: Optional[str] = None,
    stream_timeout: Optional[float] = None,
    upload: Optional[str] = None,
    **kwargs: Any,
) -> Run:
    """Start a run — create it, resume it, or attach to the one ``runlog run``
    made — and make it the current run of the module-level functions.

    project defaults to "default"; name, group, tags, notes and hypothesis
    describe the run. config is a dict, a dataclass or an argparse.Namespace.
    dir is the runlog home (default $RUNLOG_HOME, else ./runlog); the run's
    folder is ``<home>/runs/<id>``, with a random id unless id is given.
    resume: "never" (default) refuses an existing id, "allow" (or True,
    "auto") continues it if it exists, "must" requires it.

    Under ``runlog run`` (RUNLOG_RUN_ID set, no id given) the process
    attaches to that run: it writes run.py-<pid>-<n>.log in the run's
    folder, and config starts from $RUNLOG_CONFIG.

    With RANK/LOCAL_RANK set, only rank 0 records; other ranks get a
    disabled run. all_ranks=True (or RUNLOG_ALL_RANKS=1) makes every rank
    record a run of its own, named <name>-rank<r>, in one group (see
    ``dist_group``). mode="disabled" gives a disabled run.

    url is a runlog server (``runlog ui`` elsewhere) to stream the run's
    log to as it trains, besides writing it locally; None means
    $RUNLOG_URL, "-" none. token is the server's access token (default
    $RUNLOG_TOKEN). finish() waits up to stream_timeout seconds (default 5)
    for the server to receive the end of the log. mode="offline" never
    streams. See docs/server.md.

    upload is which registered files (log_artifact) a run that streams
    also sends to the server, in the background: "none", "best" (the
    checkpoints that are the best so far by the validation score in their
    metadata, and every other file), "best+last" (those and the latest
    checkpoint; the default) or "all"; None means $RUNLOG_UPLOAD. finish()
    waits up to a minute for them; what is left stays queued in the run
    folder's uploads.json, which a resumed run or `runlog sync` sends. See
    docs/team-server.md, "Files from clients".

    wandb's other options (entity, job_type, reinit, settings, …) are
    accepted and ignored with one warning; unknown ones raise TypeError. A
    run still open from an earlier init() is finished first.

    Raises ValueError, TypeError or OSError when the run cannot start —
    the only place, with log()'s refusal of values that are not numbers,
    where runlog raises into the program.
    """
    _check_wandb_options(kwargs)
    # Under `runlog run` what the script says of the run fills what the
    # runner's flags left unsaid.
    identity = {k: v for k, v in (("name", name), ("project", project), ("group", group), ("tags", list(tags or ())),
                                  ("notes", notes), ("hypothesis", hypothesis)) if v}
    project = project or "default"
    name, group, notes, hypothesis = name or "", group or "", notes or "", hypothesis or ""
    if isinstance(tags, str):
        raise TypeError("runlog: tags must be a list of str, not a str")
    tags_t = tuple(tags or ())
    check_names(name, project, group, tags_t, notes, hypothesis)
    resume = _resume_mode(resume)
    if id is not None:
        check_id(id)
    if mode not in (None, "online", "offline", "disabled", "shared"):
        raise ValueError(f"runlog: mode={mode!r}: want 'online', 'offline' or 'disabled'")
    cfg = _select(as_dict(config), config_include_keys, config_exclude_keys)
    has_config = config is not None
    server = ("", "", None) if mode == "offline" else _stream.settings(url, token) + (stream_timeout,)
    if upload is not None:
        try:
            _upload.parse_policy(upload)
        except ValueError as e:
            raise ValueError(f"runlog: {e}") from None

    rank, local_rank, world = dist_info()
    every = all_ranks if all_ranks is not None else _truthy(os.environ.get("RUNLOG_ALL_RANKS"))
    # Started by `runlog run`: attach to its run, unless the script names a run itself (as Go's Init).
    attach_id = "" if id else os.environ.get("RUNLOG_RUN_ID", "").strip()
    if resume == "must" and not id and not attach_id:
        raise ValueError("runlog: resume='must' needs an id")

    prev = _hooks.current
    if prev is not None and not prev.disabled:
        prev.finish()  # a new init() in the same process (a notebook cell run again); no-op if it ended

    if mode == "disabled" or (rank != 0 and (not every or attach_id)):
        run = Run(id=id or new_id(), name=name, project=project, group=group, tags=tags_t, notes=notes,
                  config=cfg, disabled=True, on_end=_hooks.unregister)
        _hooks.current = run
        return run
    if attach_id:
        if every:
            warn("all_ranks is ignored under `runlog run` (RUNLOG_RUN_ID): rank 0 attaches to its run")
        folder = os.environ.get("RUNLOG_RUN_DIR") or os.path.join(
            home_dir(os.environ.get("RUNLOG_HOME") or dir), "runs", attach_id
        )
        run = _attach(folder, attach_id, cfg if has_config else None, identity, server)
    else:
        if every and ("RANK" in os.environ or "LOCAL_RANK" in os.environ):
            group = group or dist_group(name, project)
            name = f"{name}-rank{rank}" if name else f"rank{rank}"
            cfg["distributed"] = {"rank": rank, "local_rank": local_rank, "world_size": world}
            has_config = True
            if id is not None:
                id = f"{id}-rank{rank}"
                check_id(id)
        run = _create_or_resume(home_dir(dir), id, resume, name, project, group, tags_t, notes, hypothesis,
                                cfg if has_config else None, server)
        if run._writer is not None and run._writer.stream is not None:
            try:
                run._uploader = _upload.new_uploader(run._writer.stream, run.dir, upload)
            except Exception as e:  # the run goes on without uploads
                warn(f"run {run.id}: cannot upload files to {server[0]}: {e!r}; they stay in the run folder")
    _hooks.register(run)
    _hooks.current = run
    return run


def _check_wandb_options(kwargs: Dict[str, Any]) -> None:
    """Refuse unknown keyword arguments; warn once about wandb's."""
    global _warned_ignored
    unknown = sorted(k for k in kwargs if k not in WANDB_IGNORED)
    if unknown:
        raise TypeError(f"runlog.init() got unexpected keyword arguments: {', '.join(unknown)}")
    if kwargs and not _warned_ignored:
        _warned_ignored = True
        warn(f"init() ignores these wandb options: {', '.join(sorted(kwargs))}")


def _resume_mode(resume: Any) -> str:
    if resume is True or resume == "auto":
        return "allow"
    if resume is False or resume is None:
        return "never"
    if resume not in ("allow", "must", "never"):
        raise ValueError(f"runlog: resume={resume!r}: want 'allow' (or True, 'auto'), 'must' or 'never'")
    return str(resume)


def _select(cfg: Dict[str, Any], include: Optional[Iterable[str]], exclude: Optional[Iterable[str]]) -> Dict[str, Any]:
    """wandb's config_include_keys and config_exclude_keys."""
    if include is not None:
        keep = set(include)
        cfg = {k: v for k, v in cfg.items() if k in keep}
    if exclude is not None:
        drop = set(exclude)
        cfg = {k: v for k, v in cfg.items() if k not in drop}
    return cfg


def _create_or_resume(home: str, run_id: Optional[str], resume: str, name: str, project: str, group: str,
                      tags: Tuple[str, ...], notes: str, hypothesis: str, config: Optional[Dict[str, Any]],
                      server: "ServerOptions" = ("", "", None)) -> Run:
    runs = os.path.join(home, "runs")
    os.makedirs(runs, exist_ok=True)
    exists = run_id is not None and os.path.exists(os.path.join(runs, run_id, "run.log"))
    if exists and resume in ("allow", "must"):
        return _resume(home, run_id, config, server)  # type: ignore[arg-type]
    if exists:
        raise FileExistsError(f"runlog: run {run_id} already exists in {home} (pass resume='allow' to continue it)")
    if resume == "must":
        raise FileNotFoundError(f"runlog: run {run_id} not found in {home}")
    return _create(home, run_id, name, project, group, tags, notes, hypothesis, config, server)


def _header(run_id: str, name: str, project: str, group: str, tags: Tuple[str, ...], notes: str,
            hypothesis: str, t: float) -> Dict[str, Any]:
    """The header record of a new run, in the field order of Go's Header."""
    h: Dict[str, Any] = {"format": 1, "id": run_id}
    for k, v in (("name", name), ("project", project), ("group", group)):
        if v:
            h[k] = v
    if tags:
        h["tags"] = list(tags)
    if notes:
        h["notes"] = notes
    if hypothesis:
        h["hypothesis"] = hypothesis
    h["time"] = t
    import getpass
    import socket

    host = socket.gethostname()
    if host:
        h["host"] = host
    try:
        h["user"] = getpass.getuser()
    except Exception:
        pass
    h["pid"] = os.getpid()
    command = _command()
    if command:
        h["command"] = command
    try:
        h["cwd"] = os.getcwd()
    except OSError:
        pass
    git = git_info()
    if git:
        h["git"] = git
    h["env"] = environment()
    h["writer"] = WRITER
    return h


def _command() -> List[str]:
    """The command line: the interpreter's name, then sys.argv (empty in an
    interactive session)."""
    argv = [str(a) for a in getattr(sys, "argv", []) if a is not None]
    if not argv or argv == [""]:
        return []
    return [os.path.basename(sys.executable) or "python"] + argv


def environment() -> Dict[str, str]:
    """Versions worth recording: Python, the OS, and torch/numpy when the
    program has imported them (runlog never imports them itself)."""
    import platform

    env = {"python": platform.python_version(), "os": f"{sys.platform}/{platform.machine()}"}
    for mod in ("torch", "numpy", "jax", "transformers"):
        m = sys.modules.get(mod)
        version = getattr(m, "__version__", None) if m is not None else None
        if isinstance(version, str):
            env[mod] = version
    torch = sys.modules.get("torch")
    cuda = getattr(getattr(torch, "version", None), "cuda", None) if torch is not None else None
    if isinstance(cuda, str):
        env["cuda"] = cuda
    return env


def _git(*args: str) -> Optional[str]:
    import subprocess

    try:
        out = subprocess.run(
            ("git",) + args, capture_output=True, text=True, timeout=2, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info() -> Dict[str, Any]:
    """Commit, branch, dirtiness and remote of the git tree around the
    working directory; empty outside one or without git. The remote's
    credentials, if any, are left out."""
    if os.environ.get("RUNLOG_GIT", "1") == "0":
        return {}
    head = _git("rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    if not head:
        return {}
    lines = head.splitlines()
    info: Dict[str, Any] = {"commit": lines[0]}
    if len(lines) > 1 and lines[1] != "HEAD":
        info["branch"] = lines[1]
    status = _git("status", "--porcelain", "--untracked-files=no")
    if status:
        info["dirty"] = True
    remote = _git("config", "--get", "remote.origin.url")
    if remote:
        info["remote"] = re.sub(r"^(\w+://)[^/@]*@", r"\1", remote)
    return info


#: Where a run streams to: the server's URL ("" for none), its token, and
#: how long finish() waits for it (None: the default).
ServerOptions = Tuple[str, str, Optional[float]]


def _new_writer(run_id: str, fd: int, path: str, server: ServerOptions, seq: int,
                ids: Optional[Dict[str, int]] = None, next_key: int = 0) -> _writer.Writer:
    """A writer, not started yet, for the log at path (open as fd), whose
    last record is seq and whose keys have the ids in ids. Its ``buffer``,
    for the run to share, is new and takes its limits from _writer's
    settings as they are now. It streams the log to the server if there
    is one."""
    buf = Buffer(_writer.MAX_BUFFER, _writer.FLUSH_BYTES, seq=seq, ids=ids, next_key=next_key)
    url, token, timeout = server
    stream = None
    if url:
        try:
            stream = _stream.new_streamer(url, token, WRITER, run_id, path, os.fstat(fd).st_size, timeout)
        except Exception as e:  # the run goes on without streaming
            warn(f"run {run_id}: cannot stream to {url}: {e}; the run is logged locally only")
    return _writer.Writer(buf, run_id, fd, path, stream)


def _open_new(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    off = 0
    while off < len(data):
        off += os.write(fd, view[off:])


def _create(home: str, run_id: Optional[str], name: str, project: str, group: str, tags: Tuple[str, ...],
            notes: str, hypothesis: str, config: Optional[Dict[str, Any]],
            server: "ServerOptions" = ("", "", None)) -> Run:
    """Make a new run folder and write the first records of its log at
    once, so that even a run that crashes right away is visible."""
    runs = os.path.join(home, "runs")
    for attempt in range(10):
        rid = run_id or new_id()
        folder = os.path.join(runs, rid)
        try:
            os.mkdir(folder)
            break
        except FileExistsError:
            if run_id is not None or attempt == 9:
                raise FileExistsError(f"runlog: run {rid} already exists in {home}") from None
    path = os.path.join(folder, "run.log")
    try:
        fd = _open_new(path)
        try:
            data = _format.MAGIC + _format.encode_record(
                _format.HEADER, 1, _format.dumps(_header(rid, name, project, group, tags, notes, hypothesis, time.time()))
            )
            seq = 1
            plain = None
            if config is not None:
                plain = jsonable(config)
                payload = _format.dumps(plain)
                if len(payload) > _format.MAX_CONFIG:
                    raise ValueError(f"runlog: config of {len(payload)} bytes exceeds {_format.MAX_CONFIG} bytes")
                data += _format.encode_record(_format.CONFIG, 2, payload)
                seq = 2
            _write_all(fd, data)
            os.fsync(fd)
            if plain is not None:
                _writer.write_file_atomic(os.path.join(folder, "config.json"), config_file_bytes(plain))
        except BaseException:
            os.close(fd)
            raise
    except BaseException:
        _remove_tree(folder)
        raise
    writer = _new_writer(rid, fd, path, server, seq)
    run = Run(id=rid, name=name, project=project, group=group, tags=tags, notes=notes, folder=folder,
              config=config, writer=writer, on_end=_hooks.unregister)
    writer.start()
    return run


def _resume(home: str, run_id: str, config: Optional[Dict[str, Any]],
            server: "ServerOptions" = ("", "", None)) -> Run:
    """Continue a run's log after its last good record, cutting off a torn
    tail left by a crash, with a resume record."""
    folder = os.path.join(home, "runs", run_id)
    path = os.path.join(folder, "run.log")
    with open(path, "rb") as f:
        data = f.read()
    try:
        st = _format.scan(data)
    except ValueError as e:
        raise ValueError(f"runlog: cannot resume {run_id}: {path}: {e}") from None
    h = st.header
    tags = tuple(h.get("tags") or ())
    if st.torn:
        os.truncate(path, st.end)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    seq = st.last_seq + 1
    try:
        import socket

        resume = {"time": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
        _write_all(fd, _format.encode_record(_format.RESUME, seq, _format.dumps(resume)))
    except BaseException:
        os.close(fd)
        raise
    writer = _new_writer(run_id, fd, path, server, seq, st.keys, st.next_key)
    run = Run(id=run_id, name=str(h.get("name", "")), project=str(h.get("project", "")),
              group=str(h.get("group", "")), tags=tags, notes=str(h.get("notes", "")), folder=folder,
              config=_format.number_value(st.config) if st.config else None, writer=writer,
              step=st.last_step + 1, on_end=_hooks.unregister)
    writer.start()
    if config:
        run.config.update(config)
    return run


def _attach(folder: str, run_id: str, config: Optional[Dict[str, Any]],
            identity: Optional[Dict[str, Any]] = None, server: "ServerOptions" = ("", "", None)) -> Run:
    """Write run.py-<pid>-<n>.log in the folder of a run created by another
    process (``runlog run``), as docs/run-log-format.md's "Several writers"
    says. The folder is $RUNLOG_RUN_DIR, else <home>/runs/<id>. identity
    (name, project, …) goes into the log's header: it fills what the
    runner left empty."""
    check_id(run_id)
    if not os.path.isfile(os.path.join(folder, "run.log")):
        raise FileNotFoundError(
            f"runlog: RUNLOG_RUN_ID={run_id} but there is no run.log in {folder} (is RUNLOG_HOME right?)"
        )
    start: Dict[str, Any] = {}
    cfg_path = os.environ.get("RUNLOG_CONFIG", "")
    if cfg_path:
        try:
            with open(cfg_path, "rb") as f:
                loaded = json.loads(f.read().decode("utf-8"))
            if isinstance(loaded, dict):
                start = _format.number_value(loaded)
        except (OSError, ValueError) as e:
            warn(f"cannot read RUNLOG_CONFIG={cfg_path}: {e}; config starts empty")
    h = _main_header(os.path.join(folder, "run.log"))
    writer_name, _, writer_version = str(h.get("writer", "")).partition("/")
    if writer_name == "runlog-go":  # `runlog run` wrote it: the binary's version
        problem = _binary.mismatch(writer_version, "the runlog command running this script")
        if problem:
            warn(problem)
    tags = tuple(h.get("tags") or ())
    pid = os.getpid()
    for n in range(1, 10000):
        path = os.path.join(folder, f"run.py-{pid}-{n}.log")
        try:
            fd = _open_new(path)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"runlog: no free log name in {folder}")
    import socket

    try:
        header: Dict[str, Any] = {"format": 1, "id": run_id, "time": time.time(), "host": socket.gethostname(),
                                  "pid": pid}
        header.update(identity or {})
        command = _command()
        if command:
            header["command"] = command
        header["writer"] = WRITER
        header["attach"] = True
        _write_all(fd, _format.MAGIC + _format.encode_record(_format.HEADER, 1, _format.dumps(header)))
    except BaseException:
        os.close(fd)
        raise
    writer = _new_writer(run_id, fd, path, server, 1)
    run = Run(id=run_id, name=str(h.get("name", "")), project=str(h.get("project", "")),
              group=str(h.get("group", "")), tags=tags, notes=str(h.get("notes", "")), folder=folder,
              config=start, attached=True, writer=writer, on_end=_hooks.unregister)
    writer.start()
    if config is not None:
        run.config.update(config)  # records the runner's config updated with the script's, as Go's client
    return run


def _main_header(path: str) -> Dict[str, Any]:
    """The header of a run's run.log, or {} if it cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
        for rec, _, _, _ in _format.iter_records(data):
            if rec is not None and rec.type == _format.HEADER:
                h = rec.json()
                return h if isinstance(h, dict) else {}
            break
    except (OSError, ValueError):
        pass
    return {}


def _remove_tree(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
