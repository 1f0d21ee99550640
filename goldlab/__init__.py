"""goldlab: diagnose and fix vanishing gradients in stacked LSTMs, on real gold prices.

The core a reader imports: the data, the models, the gradient monitor and what it measures. The book's
machinery (profiles, the cached runner, the experiments and the claims they decide) is the subpackage
:mod:`goldlab.lab`; nothing in the core imports it, except the page setup (``book.setup``),
which names the profile a page runs.

Modules
-------
blog         the blog's recipe and figures, declared once (steps, horizon, window, days, its 1e-5)
data         real gold prices, features, leakage-free windows
prices       your own price files (CSV/xlsx/DataFrame in common sources' layouts), read without guessing
models       the blog's four steps as cumulative recipes, and a general stacked-LSTM builder
monitor      gradient norms per weight and through time, and a Keras callback that records them
metrics      MAE, RMSE, MASE, directional accuracy, naive/drift forecasts, Diebold-Mariano, Mincer-Zarnowitz
tasks        the adding problem, a task that needs long memory
bptt         backpropagation through time on a toy cell, and recurrent initialisations (chapters 1, 3)
clipping     the training updates gradient clipping changed, counted inside the optimizer (chapter 2)
plots        the book's figures
book         the one setup call of every page, and its Colab install cell
"""

__version__ = "0.1.0"
