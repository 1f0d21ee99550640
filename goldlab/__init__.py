"""goldlab: diagnose and fix vanishing gradients in stacked LSTMs, on real gold prices.

Modules
-------
data         real gold prices, features, leakage-free windows
prices       your own price files (CSV/xlsx/DataFrame in common sources' layouts), read without guessing
metrics      MAE, RMSE, MASE, directional accuracy, naive/drift forecasts, Diebold-Mariano test
models       the blog's four steps as cumulative recipes, and a general stacked-LSTM builder
monitor      gradient norms per weight and through time, and a Keras callback that records them
experiments  profiles, training, the seed ablation and walk-forward evaluation
"""

__version__ = "0.1.0"
