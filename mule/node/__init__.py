"""The node service: wires a transport, the codec, the Kad logic and the shaper together."""
