#!/usr/bin/env python3
"""Small ONNX graphs, one per supported operator and attribute case, written
with python3-onnx's helper API for tests/unit/engine_onnx_test.cpp (which runs
each in Weaver and in ONNX Runtime and compares), plus the bad inputs the
importer must refuse with a clear error.

usage: onnx_cases.py OUTDIR   -> OUTDIR/<case>.onnx and OUTDIR/cases.json
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(19)
cases = []


def w(name, *shape, scale=0.5):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def save(name, nodes, inits, in_shape, outputs, opset=13, kind="case", external=False, out_dir=None, dims=None):
    # dims: the input's declared dims when they differ from the run's shape
    # (symbolic batch and size, set when the engine compiles).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims or in_shape)
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    g = helper.make_graph(nodes, name, [x], outs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    path = os.path.join(out_dir, name + ".onnx")
    if external:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=name + ".data", size_threshold=0)
    else:
        onnx.save_model(m, path)
    cases.append({"name": name, "file": name + ".onnx", "shape": in_shape, "kind": kind, "dynamic": dims is not None})


def conv(name, x, y, wname, bname=None, **attrs):
    return helper.make_node("Conv", [x, wname] + ([bname] if bname else []), [y], name=name, **attrs)


def build(out):
    S = lambda *a, **k: save(*a, out_dir=out, **k)
    N = helper.make_node

    S("conv_bias_pad1", [conv("c", "x", "y", "w", "b", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
      [w("w", 8, 3, 3, 3), w("b", 8)], [1, 3, 16, 16], ["y"])
    S("conv_stride2_odd_pads", [conv("c", "x", "y", "w", "b", strides=[2, 2], pads=[0, 1, 1, 0])],
      [w("w", 6, 3, 3, 3), w("b", 6)], [1, 3, 15, 17], ["y"])
    S("conv_groups_dilations", [conv("c", "x", "y", "w", "b", group=4, dilations=[2, 2], pads=[2, 2, 2, 2])],
      [w("w", 8, 2, 3, 3), w("b", 8)], [1, 8, 12, 11], ["y"])
    S("conv_depthwise_same_upper", [conv("c", "x", "y", "w", strides=[2, 2], group=8, auto_pad="SAME_UPPER")],
      [w("w", 8, 1, 3, 3)], [1, 8, 13, 14], ["y"])
    S("conv_valid_5x5_rect", [conv("c", "x", "y", "w", "b", auto_pad="VALID", strides=[1, 2])],
      [w("w", 4, 3, 5, 5), w("b", 4)], [1, 3, 20, 19], ["y"])
    S("conv_bn_relu", [conv("c", "x", "t", "w"),
                       N("BatchNormalization", ["t", "s", "bb", "m", "v"], ["u"], name="bn", epsilon=1e-3),
                       N("Relu", ["u"], ["y"], name="r")],
      [w("w", 8, 3, 3, 3), floats("s", rng.uniform(0.5, 1.5, 8)), w("bb", 8), w("m", 8),
       floats("v", rng.uniform(0.2, 2, 8))], [1, 3, 10, 10], ["y"])
    S("batchnorm_alone", [N("BatchNormalization", ["x", "s", "bb", "m", "v"], ["y"], name="bn")],
      [floats("s", rng.uniform(0.5, 1.5, 3)), w("bb", 3), w("m", 3), floats("v", rng.uniform(0.2, 2, 3))],
      [1, 3, 9, 9], ["y"])
    S("leaky_sigmoid_exp", [conv("c", "x", "t", "w", "b", pads=[1, 1, 1, 1]),
                            N("LeakyRelu", ["t"], ["u"], name="l", alpha=0.1),
                            N("Sigmoid", ["u"], ["y"], name="s"), N("Exp", ["t"], ["z"], name="e")],
      [w("w", 4, 3, 3, 3, scale=0.2), w("b", 4)], [1, 3, 8, 8], ["y", "z"])
    S("silu_mul_of_tensors", [N("Sigmoid", ["x"], ["s"], name="s"), N("Mul", ["x", "s"], ["y"], name="m")],
      [], [1, 3, 7, 9], ["y"])
    S("broadcast_constants", [N("Add", ["x", "a"], ["t1"], name="add_c11"),
                              N("Sub", ["t1", "b"], ["t2"], name="sub_w"),
                              N("Mul", ["k", "t2"], ["t3"], name="mul_scalar_first"),
                              N("Div", ["t3", "d"], ["y"], name="div_1c11")],
      [w("a", 4, 1, 1), w("b", 6), floats("k", 1.5), floats("d", rng.uniform(0.5, 2, (1, 4, 1, 1)))],
      [1, 4, 5, 6], ["y"])
    S("broadcast_tensors", [conv("c1", "x", "a", "w1", "b1"), conv("c2", "x", "b", "w2", "b2"),
                            N("GlobalAveragePool", ["b"], ["g"], name="gap"),
                            N("Add", ["a", "g"], ["t"], name="add_bcast"),
                            N("Sigmoid", ["g"], ["sg"], name="sig"),
                            N("Div", ["t", "sg"], ["y"], name="div_t")],
      [w("w1", 5, 3, 1, 1), w("b1", 5), w("w2", 5, 3, 3, 3), w("b2", 5)], [1, 3, 9, 8], ["y"])
    S("maxpool_k3s2p1_and_k2s2", [N("MaxPool", ["x"], ["a"], name="mp1", kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1]),
                                  N("MaxPool", ["a"], ["y"], name="mp2", kernel_shape=[2, 2], strides=[2, 2])],
      [], [1, 3, 17, 17], ["y"])
    S("maxpool_odd_pads_same", [N("MaxPool", ["x"], ["a"], name="mp1", kernel_shape=[2, 3], pads=[0, 1, 1, 1]),
                                N("MaxPool", ["a"], ["y"], name="mp2", kernel_shape=[3, 3], strides=[2, 2],
                                  auto_pad="SAME_UPPER")],
      [], [1, 3, 10, 13], ["y"])
    S("avgpool_pad_exclude_include", [N("AveragePool", ["x"], ["y"], name="ap1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                                      N("AveragePool", ["x"], ["z"], name="ap2", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                        count_include_pad=1, strides=[2, 2]),
                                      N("AveragePool", ["x"], ["u"], name="ap3", kernel_shape=[2, 2], strides=[2, 2],
                                        pads=[0, 0, 1, 1])],
      [], [1, 3, 11, 11], ["y", "z", "u"])
    S("global_avgpool_flatten", [N("GlobalAveragePool", ["x"], ["g"], name="gap"),
                                 N("Flatten", ["g"], ["y"], name="flat", axis=1)],
      [], [1, 3, 7, 6], ["y"])
    S("concat_channels", [conv("c1", "x", "a", "w1", "b1"), conv("c2", "x", "b", "w2", "b2", pads=[1, 1, 1, 1]),
                          N("Concat", ["a", "x", "b"], ["y"], name="cat", axis=1)],
      [w("w1", 4, 3, 1, 1), w("b1", 4), w("w2", 2, 3, 3, 3), w("b2", 2)], [1, 3, 8, 9], ["y"])
    S("yolo_like_head", [conv("c", "x", "t", "w", "b"),
                         N("Reshape", ["t", "s"], ["r"], name="rs"),
                         N("Transpose", ["r"], ["tr"], name="tp", perm=[0, 2, 1]),
                         N("Softmax", ["tr"], ["y"], name="sm", axis=-1)],
      [w("w", 12, 3, 1, 1), w("b", 12), ints("s", [1, 12, -1])], [1, 3, 8, 7], ["y"])
    S("reshape_zero_copies", [N("Reshape", ["x", "s"], ["y"], name="rs")], [ints("s", [0, 0, -1])],
      [1, 3, 6, 5], ["y"])
    S("resize_nearest_asymmetric_floor",
      [N("Resize", ["x", "", "sc"], ["y"], name="up", mode="nearest", coordinate_transformation_mode="asymmetric",
         nearest_mode="floor")], [floats("sc", [1, 1, 2, 2])], [1, 3, 5, 7], ["y"])
    S("resize_nearest_half_pixel_x3",
      [N("Resize", ["x", "", "sc"], ["y"], name="up", mode="nearest")], [floats("sc", [1, 1, 3, 2])],
      [1, 3, 5, 6], ["y"])
    S("resize_linear_half_pixel", [N("Resize", ["x", "", "sc"], ["y"], name="up", mode="linear")],
      [floats("sc", [1, 1, 2, 2])], [1, 3, 6, 5], ["y"])
    S("resize_linear_align_corners_sizes",
      [N("Resize", ["x", "", "", "sz"], ["y"], name="up", mode="linear", coordinate_transformation_mode="align_corners")],
      [ints("sz", [1, 3, 11, 9])], [1, 3, 6, 5], ["y"])
    S("softmax_axis1", [N("Softmax", ["x"], ["y"], name="sm", axis=1)], [], [1, 3, 5, 6], ["y"])
    S("split_sizes_input", [conv("c", "x", "t", "w", "b"),
                            N("Split", ["t", "sp"], ["a", "b2"], name="sp", axis=1),
                            N("Sigmoid", ["a"], ["y"], name="s")],
      [w("w", 8, 3, 1, 1), w("b", 8), ints("sp", [2, 6])], [1, 3, 6, 6], ["y", "b2"])
    S("constant_shape_chain", [N("Constant", [], ["k"], name="const_w", value=w("kv", 4, 3, 1, 1)),
                               conv("c", "x", "t", "k"),
                               N("Shape", ["k"], ["ks"], name="shape"),
                               N("Gather", ["ks", "i0"], ["g"], name="gather", axis=0),
                               N("Unsqueeze", ["g", "ax"], ["u"], name="unsq"),
                               N("Constant", [], ["m1"], name="const_m1", value_ints=[1, -1]),
                               N("Concat", ["m1", "u"], ["shp"], name="cat_shape", axis=0),
                               N("Cast", ["shp"], ["shp64"], name="cast", to=TensorProto.INT64),
                               N("Reshape", ["t", "shp64"], ["y"], name="rs")],
      [ints("i0", 0), ints("ax", [0])], [1, 3, 5, 4], ["y"])
    h = numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.5).astype(np.float16), "wh")
    S("float16_initializer", [N("Cast", ["wh"], ["w"], name="cast_w", to=TensorProto.FLOAT),
                              conv("c", "x", "y", "w", pads=[1, 1, 1, 1])], [h], [1, 3, 6, 7], ["y"])
    S("external_data", [conv("c", "x", "y", "w", "b")], [w("w", 4, 3, 3, 3), w("b", 4)], [1, 3, 8, 8], ["y"],
      external=True)
    S("opset11_resize_roi_split_attr", [N("Resize", ["x", "roi", "sc"], ["r"], name="up", mode="nearest",
                                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
                                        N("Split", ["r"], ["y", "z"], name="sp", axis=1, split=[1, 2])],
      [floats("roi", []), floats("sc", [1, 1, 2, 2])], [1, 3, 5, 5], ["y", "z"], opset=11)
    S("opset17_nanodet_like", [conv("c1", "x", "a", "w1", "b1", strides=[2, 2], pads=[1, 1, 1, 1]),
                               N("LeakyRelu", ["a"], ["la"], name="l1", alpha=0.1),
                               N("MaxPool", ["la"], ["p"], name="mp", kernel_shape=[2, 2], strides=[2, 2]),
                               conv("c2", "p", "d", "w2", "b2", group=8, pads=[1, 1, 1, 1]),
                               N("BatchNormalization", ["d", "s", "bb", "m", "v"], ["bn"], name="bn"),
                               N("Relu", ["bn"], ["rb"], name="r"),
                               N("Resize", ["rb", "", "sc"], ["up"], name="up", mode="nearest"),
                               N("Add", ["up", "la"], ["sum"], name="fpn_add"),
                               conv("c3", "sum", "h", "w3", "b3"),
                               N("Reshape", ["h", "hs"], ["hr"], name="flat"),
                               N("Transpose", ["hr"], ["ht"], name="tp", perm=[0, 2, 1]),
                               N("Sigmoid", ["ht"], ["y"], name="sig")],
      [w("w1", 8, 3, 3, 3), w("b1", 8), w("w2", 8, 1, 3, 3), w("b2", 8), floats("s", rng.uniform(0.5, 1.5, 8)),
       w("bb", 8), w("m", 8), floats("v", rng.uniform(0.2, 2, 8)), floats("sc", [1, 1, 2, 2]),
       w("w3", 6, 8, 1, 1), w("b3", 6), ints("hs", [1, 6, -1])], [1, 3, 16, 20], ["y"], opset=17)

    S("dynamic_batch_and_size", [conv("c", "x", "a", "w", "b", pads=[1, 1, 1, 1], strides=[2, 2]),
                                 N("MaxPool", ["a"], ["p"], name="mp", kernel_shape=[2, 2], strides=[2, 2]),
                                 N("Resize", ["p", "", "sc"], ["u"], name="up", mode="nearest"),
                                 N("Concat", ["u", "a"], ["c2"], name="cat", axis=1),
                                 N("Reshape", ["c2", "s"], ["y"], name="rs")],
      [w("w", 4, 3, 3, 3), w("b", 4), floats("sc", [1, 1, 2, 2]), ints("s", [0, 8, -1])], [2, 3, 20, 12], ["y"],
      dims=["N", 3, "H", "W"])

    # Bad inputs: each must fail with a clear error (not run by ORT).
    S("bad_unknown_op", [N("Erf", ["x"], ["y"], name="the_erf")], [], [1, 3, 8, 8], ["y"], kind="bad")
    S("bad_opset", [N("Relu", ["x"], ["y"], name="r")], [], [1, 3, 8, 8], ["y"], opset=9, kind="bad")
    S("bad_shape_mismatch", [N("Add", ["x", "a"], ["y"], name="add_mismatch")], [w("a", 5)], [1, 3, 8, 8], ["y"],
      kind="bad")
    S("bad_conv_channels", [conv("conv_mismatch", "x", "y", "w")], [w("w", 4, 2, 3, 3)], [1, 3, 8, 8], ["y"],
      kind="bad")
    S("bad_missing_external", [conv("c", "x", "y", "w")], [w("w", 4, 3, 3, 3)], [1, 3, 8, 8], ["y"],
      external=True, kind="bad")
    os.remove(os.path.join(out, "bad_missing_external.data"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    build(out)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main()
