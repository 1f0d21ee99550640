"""goldlab: diagnose and fix vanishing gradients in stacked LSTMs, on real gold prices.

Modules
-------
data         real gold prices, loaders for common CSV layouts, features, leakage-free windows
metrics      MAE, RMSE, MASE, directional accuracy, naive/drift forecasts, Diebold-Mariano test
models       the blog's four steps as cumulative recipes, and a general stacked-LSTM builder
monitor      gradient norms per weight and through time, and a Keras callback that records them
experiments  profiles, training, the seed ablation and walk-forward evaluation
"""

__version__ = "0.1.0"
