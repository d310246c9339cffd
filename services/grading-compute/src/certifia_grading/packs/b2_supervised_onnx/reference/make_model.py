"""Builds the reference model.onnx for b2_supervised_onnx: scaled logistic regression."""

from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build(public: dict) -> dict[str, bytes]:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    model.fit(public["X_train"], public["y_train"])
    onx = convert_sklearn(
        model, initial_types=[("X", FloatTensorType([None, 30]))], options={"zipmap": False}, target_opset=17
    )
    return {"model.onnx": onx.SerializeToString()}
