"""Runs INSIDE the sandbox: load the inputs, call the candidate's entry point, write its outputs.

Standard library + numpy/pandas only; never imported by the grader. Exit codes: 0 ok, 10 cannot
import the entry point, 11 the entry point raised, 12 out of memory, 13 bad return value.
"""

import importlib
import json
import sys
import traceback


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


def _write(item, value, out_dir, np, pd):
    path = out_dir + "/" + item["name"] + "." + item["format"]
    if item["format"] == "npy":
        array = np.asarray(value)
        if array.dtype == object:
            _fail(13, f"output {item['name']!r}: numeric or fixed-width string array expected, got objects")
        with open(path, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    elif item["format"] == "csv":
        pd.DataFrame(value).to_csv(path, index=False)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(value, fh, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
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
        for item in outputs:
            _write(item, result[item["name"]], spec["output_dir"], np, pd)
    except MemoryError:
        _fail(12, "MemoryError while writing the outputs")
    except Exception:
        _fail(13, "cannot write the outputs:\n" + traceback.format_exc(limit=3))


if __name__ == "__main__":
    main()
