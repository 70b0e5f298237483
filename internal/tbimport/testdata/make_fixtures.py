"""Writes the TensorBoard event files that internal/tbimport's tests read.

Run from this folder with a Python that has tensorboardX, tensorboard and
torch:

    python3 -m venv /tmp/tbvenv
    /tmp/tbvenv/bin/pip install tensorboardX==2.6.5 tensorboard==2.21.0 torch
    /tmp/tbvenv/bin/python make_fixtures.py

`make_fixtures.py rich` writes only rich/ and rich.json (images,
histograms, texts), which need tensorboardX, tensorboard and pillow but
not torch.

Every file gets a fixed name (events.out.tfevents.<time>.fixture-host.<pid>.0)
and every value a fixed wall time, so that the fixtures are the same each
time they are made. What each file holds is listed in fixtures.json, which
the tests compare the import with.
"""

import glob
import json
import math
import os
import shutil
import sys

T0 = 1764201600.0  # 2025-11-27 00:00:00 UTC
expected = {}  # run name -> tag -> [[step, wall_time, value], ...]


def record(run, tag, step, wall, value):
    expected.setdefault(run, {}).setdefault(tag, []).append([step, wall, value])


def fix_names(folder, pid):
    """Renames the event files of each folder under folder to fixed names."""
    for i, path in enumerate(sorted(glob.glob(os.path.join(folder, "**", "*tfevents*"), recursive=True))):
        os.rename(path, os.path.join(os.path.dirname(path), f"events.out.tfevents.{int(T0)}.fixture-host.{pid}.{0}"))


def f32(v):
    """The value as the float32 that simple_value holds."""
    import numpy as np
    return float(np.float32(v))


def finite(v):
    return v if math.isfinite(v) else {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(v)]


def tensorboardx():
    from tensorboardX import SummaryWriter

    root = "tensorboardX"
    shutil.rmtree(root, ignore_errors=True)
    w = SummaryWriter(os.path.join(root, "train"))
    for step in range(20):
        wall = T0 + step
        loss = 4.0 / (step + 1)
        w.add_scalar("loss", loss, step, walltime=wall)
        record("train", "loss", step, wall, f32(loss))
        # With a display name, tensorboardX adds the scalars plugin's metadata.
        w.add_scalar("eval/acc", step / 20, step, walltime=wall + 0.5, display_name="accuracy")
        record("train", "eval/acc", step, wall + 0.5, f32(step / 20))
    w.add_scalar("loss", float("nan"), 20, walltime=T0 + 20)
    record("train", "loss", 20, T0 + 20, float("nan"))
    w.add_scalar("grad_norm", float("inf"), 20, walltime=T0 + 20)
    record("train", "grad_norm", 20, T0 + 20, float("inf"))
    w.add_histogram("weights", [0.1, 0.2, 0.3, 0.4], 0, walltime=T0)  # not a scalar: ignored
    w.add_text("notes", "a text summary", 0, walltime=T0)  # not a scalar: ignored
    # add_scalars writes one sub-folder per scalar: nested runs.
    for step in range(5):
        w.add_scalars("lr", {"encoder": 1e-3 * (step + 1), "decoder": 2e-3}, step, walltime=T0 + step)
        record("train/lr/encoder", "lr", step, T0 + step, f32(1e-3 * (step + 1)))
        record("train/lr/decoder", "lr", step, T0 + step, f32(2e-3))
    w.close()
    fix_names(root, 1000)


def torch_writer():
    from torch.utils.tensorboard import SummaryWriter

    root = "torch"
    shutil.rmtree(root, ignore_errors=True)
    w = SummaryWriter(os.path.join(root, "baseline"))
    for step in range(0, 100, 10):
        wall = T0 + step / 10
        w.add_scalar("Loss/train", 3.0 - step / 100, step, walltime=wall)
        record("baseline", "Loss/train", step, wall, f32(3.0 - step / 100))
        w.add_scalar("Loss/val", 3.5 - step / 100, step, walltime=wall, new_style=True, double_precision=True)
        record("baseline", "Loss/val", step, wall, 3.5 - step / 100)
    w.add_scalar("Loss/train", float("nan"), 100, walltime=T0 + 10)
    record("baseline", "Loss/train", 100, T0 + 10, float("nan"))
    w.close()
    for lr in ("0.1", "0.01"):
        w = SummaryWriter(os.path.join(root, "sweep", "lr-" + lr))
        for step in range(3):
            w.add_scalar("loss", float(lr) * (3 - step), step, walltime=T0 + step)
            record("sweep/lr-" + lr, "loss", step, T0 + step, f32(float(lr) * (3 - step)))
        w.close()
    fix_names(root, 2000)


def crafted():
    """Scalars in every tensor form that TensorFlow writes, through
    tensorboard's own protos and writer."""
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    root = "crafted"
    shutil.rmtree(root, ignore_errors=True)
    w = EventFileWriter(os.path.join(root, "tf2"))

    def scalar_meta(first):
        if not first:
            return None  # TensorFlow writes a tag's metadata only with its first value
        return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))

    forms = {
        "float_val": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[v]),
        "double_val": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, double_val=[v]),
        "half_val": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_HALF, half_val=[int(np.array([v], np.float16).view(np.uint16)[0])]),
        "bfloat16": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_BFLOAT16, half_val=[int(np.array([v], np.float32).view(np.uint32)[0]) >> 16]),
        "int_val": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, int_val=[int(v)]),
        "int64_val": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_INT64, int64_val=[int(v)]),
        "content_float": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=np.array([v], "<f4").tobytes()),
        "content_double": lambda v: tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_content=np.array([v], "<f8").tobytes()),
    }
    exact = {
        "float_val": lambda v: float(np.float32(v)),
        "double_val": float,
        "half_val": lambda v: float(np.float16(v)),
        "bfloat16": lambda v: float(np.array([int(np.array([v], np.float32).view(np.uint32)[0]) >> 16 << 16], np.uint32).view(np.float32)[0]),
        "int_val": lambda v: float(int(v)),
        "int64_val": lambda v: float(int(v)),
        "content_float": lambda v: float(np.float32(v)),
        "content_double": float,
    }
    for step in range(3):
        wall = T0 + step
        values = []
        for name, make in forms.items():
            v = 1.5 + step * 2.25 if "int" not in name else 100 + step
            values.append(summary_pb2.Summary.Value(tag="tensor/" + name, tensor=make(v), metadata=scalar_meta(step == 0)))
            record("tf2", "tensor/" + name, step, wall, exact[name](v))
        # A vector and a text tensor are not scalars.
        shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)])
        values.append(summary_pb2.Summary.Value(tag="vector", tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, float_val=[1, 2]), metadata=scalar_meta(step == 0)))
        text_meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        values.append(summary_pb2.Summary.Value(tag="text", tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b"hi"]), metadata=text_meta))
        w.add_event(event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=values)))
    w.close()
    fix_names(root, 3000)


def rich():
    """Images, histograms and texts: tensorboardX's add_image, add_images,
    add_histogram and add_text (TensorFlow 1's protos, as PyTorch writes
    them), and TensorFlow 2's tensors of the images, histograms and text
    plugins through tensorboard's own protos and writer."""
    import io

    import numpy as np
    from PIL import Image
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    try:
        import torch
    except ImportError:
        pass
    if not hasattr(sys.modules.get("torch"), "Tensor"):
        sys.modules["torch"] = None  # the folder torch/ beside this script is not PyTorch
    from tensorboardX import SummaryWriter

    root = "rich"
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(7)
    w = SummaryWriter(os.path.join(root, "tbx"))
    for step in (0, 100, 200):
        wall = T0 + step
        w.add_scalar("loss", 3 - step / 100, step, walltime=wall)
        img = np.zeros((3, 8, 12), np.uint8)  # CHW
        img[0, :, : 4 + step // 50] = 255
        w.add_image("samples/digit", img, step, walltime=wall)
        w.add_images("grid", np.stack([img, 255 - img]), step, walltime=wall, dataformats="NCHW")
        w.add_histogram("grad_norm/layer0", rng.normal(step / 100, 1, 1000), step, walltime=wall, bins=np.linspace(-5, 7, 25))
        w.add_text("sample", f"Once upon a time, at step {step}, <script>alert(1)</script>", step, walltime=wall)
    w.add_image("samples/digit", np.zeros((3, 8, 12), np.uint8), 300, walltime=T0 + 300)  # the same image twice: one file
    w.add_image("samples/digit", np.zeros((3, 8, 12), np.uint8), 400, walltime=T0 + 400)
    w.close()

    def meta(plugin):
        return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin))

    def shape(*dims):
        return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])

    w = EventFileWriter(os.path.join(root, "tf2"))
    for step in range(2):
        wall = T0 + step
        buf = io.BytesIO()
        Image.new("RGB", (5 + step, 4), (200, 10 * step, 0)).save(buf, "PNG")
        jpg = io.BytesIO()
        Image.new("RGB", (6, 6), (0, 0, 200)).save(jpg, "JPEG")
        images = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape(4),
                                        string_val=[str(5 + step).encode(), b"4", buf.getvalue(), jpg.getvalue()])
        hist = np.array([[0, 1, 3], [1, 2, 10], [2, 4, 5]], np.float64) + [step, step, 0]
        hists = tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_shape=shape(3, 3), tensor_content=hist.astype("<f8").tobytes())
        table = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape(2, 2),
                                       string_val=[b"prompt", b"sample", b"Once", f"upon a time {step} \x1b[31m".encode()])
        values = [
            summary_pb2.Summary.Value(tag="images", tensor=images, metadata=meta("images") if step == 0 else None),
            summary_pb2.Summary.Value(tag="weights", tensor=hists, metadata=meta("histograms") if step == 0 else None),
            summary_pb2.Summary.Value(tag="table", tensor=table, metadata=meta("text") if step == 0 else None),
        ]
        w.add_event(event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=values)))
    w.close()
    fix_names(root, 4000)


def rich_reads(folder):
    """What TensorBoard's own loader reads of the images, histograms and
    texts under folder: run -> tag -> [[step, wall_time, kind, value]],
    an image as its SHA-256, width and height, a histogram as its edges
    and counts, a text as its strings joined by newlines."""
    import hashlib

    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    out = {}
    for events in sorted(glob.glob(os.path.join(folder, "**", "*tfevents*"), recursive=True)):
        run_dir = os.path.dirname(events)
        run = os.path.relpath(run_dir, folder).replace(os.sep, "/")
        acc = pea.EventAccumulator(run_dir, size_guidance={"tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            vals = []
            for e in acc.Tensors(tag):
                arr = tensor_util.make_ndarray(e.tensor_proto)
                if plugin == "images":
                    from PIL import Image
                    import io
                    imgs = []
                    for b in arr.reshape(-1)[2:]:
                        im = Image.open(io.BytesIO(b))
                        imgs.append({"sha256": hashlib.sha256(b).hexdigest(), "width": im.width, "height": im.height})
                    vals.append([e.step, e.wall_time, "image", imgs])
                elif plugin == "histograms":
                    edges = [float(x) for x in arr[:, 0]] + [float(arr[-1, 1])]
                    vals.append([e.step, e.wall_time, "histogram", {"edges": edges, "counts": [float(x) for x in arr[:, 2]]}])
                elif plugin == "text":
                    vals.append([e.step, e.wall_time, "text", "\n".join(b.decode() for b in arr.reshape(-1))])
            if vals:
                out.setdefault(run, {})[tag] = vals
    return out


def corrupt():
    """A copy of torch/baseline with a byte flipped in its third record and
    half a record at its end."""
    root = "corrupt"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "run"))
    src = glob.glob(os.path.join("torch", "baseline", "*tfevents*"))[0]
    data = bytearray(open(src, "rb").read())
    # Find the third record: each is 8 + 4 + len + 4 bytes.
    off = 0
    for _ in range(2):
        n = int.from_bytes(data[off:off + 8], "little")
        off += 16 + n
    n = int.from_bytes(data[off:off + 8], "little")
    data[off + 12 + n // 2] ^= 0xFF
    data += data[off:off + 10]  # the start of a record, cut short
    dst = os.path.join(root, "run", os.path.basename(src))
    open(dst, "wb").write(bytes(data))
    print(f"corrupt: flipped a byte of the record at offset {off}; {len(data)} bytes")
    return off


def tensorboard_reads(folder):
    """What TensorBoard's own loader reads as scalars in the runs under
    folder: run -> tag -> [[step, wall_time, value]]."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    out = {}
    for events in sorted(glob.glob(os.path.join(folder, "**", "*tfevents*"), recursive=True)):
        run_dir = os.path.dirname(events)
        run = os.path.relpath(run_dir, folder).replace(os.sep, "/")
        acc = pea.EventAccumulator(run_dir, size_guidance={"tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue
            pts = []
            for e in acc.Tensors(tag):
                try:
                    arr = tensor_util.make_ndarray(e.tensor_proto)
                except TypeError:  # bfloat16, which numpy lacks without TensorFlow
                    pts = None
                    break
                if arr.size != 1:
                    break
                pts.append([e.step, e.wall_time, float(arr.item())])
            else:
                out.setdefault(run, {})[tag] = pts
            if pts is None:
                out.setdefault(run, {})[tag] = expected[run][tag]
    return out


def check_against_tensorboard(roots):
    """Checks that the expected values are what TensorBoard itself reads."""
    for root in roots:
        for run, tags in tensorboard_reads(root).items():
            mine = expected.get(run, {})
            for tag, pts in tags.items():
                want = [[s, t, repr(v)] for s, t, v in mine.get(tag, [])]
                got = [[s, t, repr(v)] for s, t, v in pts]
                assert want == got, f"{root}/{run} {tag}: TensorBoard reads {got}, fixtures say {want}"
            assert set(tags) == set(mine), f"{root}/{run}: TensorBoard reads tags {sorted(tags)}, fixtures say {sorted(mine)}"


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    rich()
    with open("rich.json", "w") as f:
        json.dump(rich_reads("rich"), f, indent=1, sort_keys=True)
        f.write("\n")
    if sys.argv[1:] == ["rich"]:  # the rich fixtures only: no torch needed
        sys.exit()
    tensorboardx()
    torch_writer()
    crafted()
    check_against_tensorboard(["tensorboardX", "torch", "crafted"])
    off = corrupt()
    out = {run: {tag: [[s, t, finite(v)] for s, t, v in pts] for tag, pts in tags.items()} for run, tags in expected.items()}
    with open("fixtures.json", "w") as f:
        json.dump({"corrupt_offset": off, "runs": out}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", ", ".join(sorted(out)))
