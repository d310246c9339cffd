"""Runs INSIDE the sandbox: load the inputs, call the candidate's entry point, hand back its outputs.

Standard library + numpy/pandas only; never imported by the grader. Exit codes: 0 ok, 10 cannot
import the entry point, 11 the entry point raised, 12 out of memory, 13 bad return value.

The output folder is a size-bounded tmpfs that vanishes with the sandbox: the declared outputs go back
through the pipe whose write end the sandbox inherited (``$CERTIFIA_RESULT_FD``), framed as
``MAGIC`` then, per output, a 4-byte name length, the name, an 8-byte data length and the data (big
endian). The host bounds and validates what it reads (the candidate's code can write there too: it
controls its own outputs anyway, nothing more).
"""

import importlib
import io
import json
import os
import sys
import traceback

MAGIC = b"CERTIFIA-OUTPUTS/1\n"


def _fail(code, message):
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
    sys.exit(code)


def _load_inputs(spec, np, pd):
    inputs = {}
    for item in spec["inputs"]:
        path = spec["inputs_dir"] + "/" + item["name"] + "." + item["format"]
        if item["format"] == "csv":
            inputs[item["name"]] = pd.read_csv(path)
        elif item["format"] == "npy":
            inputs[item["name"]] = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as fh:
                inputs[item["name"]] = json.load(fh)
    return inputs


def _encode(item, value, np, pd):
    if item["format"] == "npy":
        array = np.asarray(value)
        if array.dtype == object:
            _fail(13, f"output {item['name']!r}: numeric or fixed-width string array expected, got objects")
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=False)
        return buf.getvalue()
    if item["format"] == "csv":
        return pd.DataFrame(value).to_csv(index=False).encode("utf-8")
    text = json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return text.encode("utf-8")


def _hand_back(channel, frames):
    with os.fdopen(channel, "wb") as fh:
        fh.write(MAGIC)
        for name, data in frames:
            raw = name.encode("utf-8")
            fh.write(len(raw).to_bytes(4, "big") + raw + len(data).to_bytes(8, "big"))
            fh.write(data)


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    channel = int(os.environ.pop("CERTIFIA_RESULT_FD", "-1"))
    if channel < 0:
        _fail(13, "no channel to hand the outputs back")
    import numpy as np
    import pandas as pd

    inputs = _load_inputs(spec, np, pd)
    sys.path.insert(0, spec["submission_dir"])
    try:
        module = importlib.import_module(spec["module"])
        function = getattr(module, spec["function"])
    except MemoryError:
        _fail(12, "MemoryError while importing the submission")
    except BaseException:
        _fail(10, traceback.format_exc(limit=5))
    try:
        result = function(**inputs)
    except MemoryError:
        _fail(12, "MemoryError in " + spec["function"])
    except BaseException:
        _fail(11, traceback.format_exc(limit=5))
    outputs = spec["outputs"]
    if not (isinstance(result, dict) and all(o["name"] in result for o in outputs)):
        if len(outputs) == 1:
            result = {outputs[0]["name"]: result}
        else:
            names = [o["name"] for o in outputs]
            _fail(13, f"{spec['function']} must return a dict with the keys {names}")
    try:
        frames = [(o["name"] + "." + o["format"], _encode(o, result[o["name"]], np, pd)) for o in outputs]
        _hand_back(channel, frames)
    except MemoryError:
        _fail(12, "MemoryError while writing the outputs")
    except Exception:
        _fail(13, "cannot write the outputs:\n" + traceback.format_exc(limit=3))


if __name__ == "__main__":
    main()
