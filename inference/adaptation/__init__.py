"""Adapting a click network to one project's accepted masks, measured and promoted only when better.

One round (`rounds.run_round`): split the accepted objects by image into a training part and a held-out part
(`split`, seeded, stored and reused by later rounds), fine-tune the project's current model on the training
part with the engine's trainer under a wall-clock budget (`train`, with generic data mixed in when a generic
folder is configured), evaluate the current and the candidate model on the held-out objects with the NoC
protocol at the app's live settings (`evaluate`, the library behind `python -m inference.evaluate`), apply the
promotion rule fixed in advance (`decide`) and write the round's report (`report`: JSON, a Markdown table and a
PNG of the curves and the training loss). `control` carries the cancel flag and the progress callback.

Django-free: the web app (`labeling.adaptation`) and `manage.py adapt_simulate` both call `run_round`.
Objects are (image file, 8-bit mask file) pairs (0 background, 255 object, 128 ignore) with an image key that
groups the objects of one image.
"""
