"""Builds the weak model.onnx for b5a_digits_vision: a depth-3 decision tree."""

from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.tree import DecisionTreeClassifier


def build(public: dict) -> dict[str, bytes]:
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(public["X_train"], public["y_train"])
    onx = convert_sklearn(
        model, initial_types=[("X", FloatTensorType([None, 64]))], options={"zipmap": False}, target_opset=17
    )
    return {"model.onnx": onx.SerializeToString()}
