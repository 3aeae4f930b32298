#!/usr/bin/env python3
"""Writes the seed corpora of the model, gateway and mot harnesses (the codec
harness's come from fuzz_codec_seeds; config's are copies of deploy/*.yaml).
Run from tests/fuzz: python3 make_seeds.py"""
import base64, json, random, struct

def model_input(darknet, text, binary):
    text = text.encode()
    assert len(text) < 65536
    return bytes([1 if darknet else 0]) + struct.pack("<H", len(text)) + text + binary

def floats(n, seed):
    r = random.Random(seed)
    return struct.pack("<%df" % n, *[r.uniform(-0.5, 0.5) for _ in range(n)])

def b64(s):
    return base64.b64encode(s.encode()).decode()

# Darknet: conv+BN+leaky, maxpool, 1x1 conv, yolo head (weights: header
# major, minor, revision int32 and seen size_t, then per conv biases,
# [scales, mean, variance,] weights).
cfg = """[net]
width=16
height=16
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=18
size=1
stride=1
pad=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=1
num=3
"""
header = struct.pack("<iiiQ", 0, 2, 0, 0)
var = struct.pack("<4f", 1, 1, 1, 1)
weights = header + floats(4, 1) + floats(4, 2) + floats(4, 3) + var + floats(108, 4) + floats(18, 5) + floats(72, 6)
open("corpus/model/darknet-yolo", "wb").write(model_input(True, cfg, weights))
open("corpus/model/darknet-region", "wb").write(model_input(True, cfg.replace("[yolo]", "[region]").replace("mask=0,1,2\n", ""), weights))

# TF.js graph model: input, fused conv (bias, relu), max pool; float32 and
# uint8-quantised weights.
def tfjs(quantised):
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
         "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "8"}, {"size": "8"}, {"size": "3"}]}}}},
        {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
        {"name": "b", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
        {"name": "conv", "op": "_FusedConv2D", "input": ["x", "w", "b"], "attr": {
            "T": {"type": "DT_FLOAT"}, "padding": {"s": b64("SAME")}, "data_format": {"s": b64("NHWC")},
            "strides": {"list": {"i": ["1", "1", "1", "1"]}}, "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
            "fused_ops": {"list": {"s": [b64("BiasAdd"), b64("Relu")]}}, "num_args": {"i": "1"}}},
        {"name": "pool", "op": "MaxPool", "input": ["conv"], "attr": {
            "T": {"type": "DT_FLOAT"}, "padding": {"s": b64("VALID")}, "data_format": {"s": b64("NHWC")},
            "ksize": {"list": {"i": ["1", "2", "2", "1"]}}, "strides": {"list": {"i": ["1", "2", "2", "1"]}}}},
        {"name": "out", "op": "Identity", "input": ["pool"], "attr": {"T": {"type": "DT_FLOAT"}}},
    ]
    ws = [{"name": "w", "shape": [3, 3, 3, 4], "dtype": "float32"}, {"name": "b", "shape": [4], "dtype": "float32"}]
    if quantised:
        for w in ws:
            w["quantization"] = {"dtype": "uint8", "min": -0.5, "scale": 1.0 / 255}
        r = random.Random(7)
        shard = bytes(r.randrange(256) for _ in range(108 + 4))
    else:
        shard = floats(108, 8) + floats(4, 9)
    model = {"format": "graph-model", "generatedBy": "seed", "convertedBy": "seed",
             "modelTopology": {"node": nodes}, "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": ws}]}
    return model_input(False, json.dumps(model), shard)
open("corpus/model/tfjs-float", "wb").write(tfjs(False))
open("corpus/model/tfjs-uint8", "wb").write(tfjs(True))
