"""Weak submission for b1_bias_mitigation: learns the historical decisions as they are, group included."""

from sklearn.linear_model import LogisticRegression


def fit_predict(train, test):
    features = [c for c in train.columns if c != "approved"]
    model = LogisticRegression(max_iter=1000).fit(train[features], train["approved"])
    return model.predict(test[features])
