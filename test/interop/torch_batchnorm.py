"""PyTorch's side of the state-dict interop test (test/interop/torch-batchnorm.test.ts).

The model is the same on both sides: conv 1->2 3x3 padding 1, BatchNorm2d, ReLU, Flatten, Linear 32->6,
BatchNorm1d(momentum=None, the cumulative average), ReLU, Linear 6->3, on inputs [N, 1, 4, 4].
safetensors files are written and read by hand (the format is a JSON header and raw little-endian
data), so only torch and numpy are needed.

  write DIR SEED   trains the model a few steps, saves DIR/model.safetensors (its state dict) and
                   DIR/io.safetensors: eval inputs and outputs, a training batch and the buffers after
                   one more training forward on it
  check IN X OUT   loads the state dict IN with strict=True, runs it in eval mode on the input "x" of
                   the file X and writes the output to OUT
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def model():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
        nn.Linear(32, 6), nn.BatchNorm1d(6, momentum=None), nn.ReLU(), nn.Linear(6, 3),
    )


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in sorted(tensors.items()):
        a = t.detach().cpu().contiguous().numpy()  # np.ascontiguousarray would make a 0-dim tensor 1-dim
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        a = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(a.astype(DTYPES[info["dtype"]]).reshape(info["shape"]).copy())
    return out


def write(folder, seed):
    torch.manual_seed(seed)
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    m.train()
    for _ in range(3):
        x = torch.randn(8, 1, 4, 4) * 2 + 0.5
        loss = m(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    save(f"{folder}/model.safetensors", m.state_dict())
    x_eval = torch.randn(5, 1, 4, 4)
    x_train = torch.randn(8, 1, 4, 4) * 1.5 - 0.25
    m.eval()
    with torch.no_grad():
        y_eval = m(x_eval)
        m.train()
        m(x_train)
    after = {f"after.{k}": v for k, v in m.state_dict().items() if "running" in k or "num_batches" in k}
    save(f"{folder}/io.safetensors", {"x_eval": x_eval, "y_eval": y_eval, "x_train": x_train, **after})


def check(state_path, inputs_path, out_path):
    m = model()
    m.load_state_dict(load(state_path), strict=True)
    m.eval()
    with torch.no_grad():
        y = m(load(inputs_path)["x"])
    save(out_path, {"y": y})


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4])
