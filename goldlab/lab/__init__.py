"""The book's machinery: what trains, caches and judges the experiments the chapters show.

A reader learning the monitor or the models does not need this subpackage. The chapters call it to train
(or read back) their experiments and to decide the blog's claims from the results.

Modules
-------
profiles     how much every experiment trains: one Profile per size (quick, full), and where results live
runner       the one cached runner: every experiment's runs as folders, read back when saved, else trained
experiments  training a step over seeds, the seed ablation of the blog's steps, walk-forward evaluation
loops        training with one compiled call per epoch, and several seeds as one program
claims       every claim the book decides, each declared once with its threshold and decision
ledger       every verdict of the book in one table, recomputed from the saved results
forecast     why the forecast fails and what decides it (extrapolation, baselines, walk-forward)
variants     the blog's untested variants, trained briefly and decided by a threshold
depth        the depth sweep on gold, with and without skips (chapter 4)
memory       the long-memory grid on the adding problem (chapter 5)
cli          the one command line, ``python -m goldlab``
"""
