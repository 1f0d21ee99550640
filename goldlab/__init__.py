"""goldlab: diagnose and fix vanishing gradients in stacked LSTMs, on real gold prices.

Modules
-------
blog         the blog's recipe and figures, declared once (steps, horizon, window, days, its 1e-5)
data         real gold prices, features, leakage-free windows
prices       your own price files (CSV/xlsx/DataFrame in common sources' layouts), read without guessing
metrics      MAE, RMSE, MASE, directional accuracy, naive/drift forecasts, Diebold-Mariano, Mincer-Zarnowitz
models       the blog's four steps as cumulative recipes, and a general stacked-LSTM builder
monitor      gradient norms per weight and through time, and a Keras callback that records them
loops        training with one compiled call per epoch, and several seeds as one program
experiments  profiles, training, the seed ablation and walk-forward evaluation
claims       the blog's claims, each declared once with its threshold and decision
ledger       every verdict of the book in one table, recomputed from the saved results
forecast     why the forecast fails and what decides it
bptt         backpropagation through time on a toy cell, and recurrent initialisations (chapters 1, 3)
clipping     the training updates gradient clipping changed, counted inside the optimizer (chapter 2)
depth        the depth sweep on gold, with and without skips (chapter 4)
tasks        the adding problem, a task that needs long memory
memory       the long-memory grid of chapter 5
variants     the blog's untested variants, trained briefly and decided by a threshold
book         the one setup call of every page, and its Colab install cell
plots        the book's figures
"""

__version__ = "0.1.0"
