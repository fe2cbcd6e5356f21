"""The way out: save and load, PyTorch, ONNX."""
