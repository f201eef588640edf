"""Training pipeline of ClickLabel's own click network (data, click sampling, iterative training, loss,
validation NoC, checkpoints, export). Plain Python + PyTorch + OpenCV; no Django."""
