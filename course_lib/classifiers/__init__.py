"""Classifiers built from first principles: k-nearest neighbours, linear
SVM and softmax (losses and SGD-trained estimators), and the perceptron with
the hand-set AND / XOR threshold networks.

The estimators follow scikit-learn's API (``fit`` returns ``self``,
``predict``, ``score``, ``get_params`` / ``set_params``, learned attributes
end in ``_``) without depending on scikit-learn.
"""
from .base import BaseEstimator, NotFittedError
from .knn import KNearestNeighbor, cross_validate_knn
from .linear import LinearClassifier, LinearSVM, Softmax
from .linear_loss import (softmax_loss_naive, softmax_loss_vectorized,
                          svm_loss_naive, svm_loss_vectorized)
from .perceptron import Perceptron, and_gate, heaviside, xor_hidden, xor_network

__all__ = [
    "BaseEstimator", "NotFittedError",
    "KNearestNeighbor", "cross_validate_knn",
    "svm_loss_naive", "svm_loss_vectorized",
    "softmax_loss_naive", "softmax_loss_vectorized",
    "LinearClassifier", "LinearSVM", "Softmax",
    "Perceptron", "heaviside", "and_gate", "xor_network", "xor_hidden",
]
