"""Reference implementation for the course *Neural networks for image
classification, from first principles in numpy*.

One module per idea (import what you need; nothing heavy is imported here):

- ``course_lib.data``         datasets: CIFAR-10, (Fashion-)MNIST, Iris, toy 2-D sets
- ``course_lib.gradcheck``    numerical gradients and relative errors
- ``course_lib.classifiers``  kNN, linear SVM / softmax, the perceptron
- ``course_lib.layers``       affine, activations, dropout (forward/backward pairs)
- ``course_lib.normalization`` batch and layer normalization
- ``course_lib.conv``, ``course_lib.pooling``  convolution and pooling, naive and fast
- ``course_lib.layer_utils``  composite "sandwich" layers
- ``course_lib.losses``, ``course_lib.initializers``, ``course_lib.optim``
- ``course_lib.models``, ``course_lib.solver``, ``course_lib.diagnostics``, ``course_lib.vis``
- ``course_lib.widgets``      interactive explorers (static figures in the built book)
- ``course_lib.grading``      helpers used by the autograders
"""

from course_lib import _memory

__version__ = "0.1.0"

# Freed arrays are kept for reuse instead of being returned to the operating
# system and page-faulted back at the next training step (glibc only; see
# course_lib/_memory.py, and COURSE_LIB_MALLOC=system to opt out).
_memory.keep_freed_memory()
