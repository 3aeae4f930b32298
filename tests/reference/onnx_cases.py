#!/usr/bin/env python3
"""Small ONNX graphs, one per supported operator and attribute case, written
with python3-onnx's helper API for tests/unit/engine_onnx_test.cpp (which runs
each in Weaver and in ONNX Runtime and compares), plus the bad inputs the
importer must refuse with a clear error.

usage: onnx_cases.py OUTDIR   -> OUTDIR/<case>.onnx and OUTDIR/cases.json
       onnx_cases.py --yolov8 FILE.onnx HEIGHT WIDTH [CLASSES]
                             -> one YOLOv8-like detector (random weights)
       onnx_cases.py --yolov5 FILE.onnx HEIGHT WIDTH [CLASSES]
                             -> the same backbone with YOLOv5's head
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


def finish_detector(path, name, h, wd, nodes, inits, out_shape, opset):
    xin = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, wd])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)
    for n in nodes:  # the graph's input is "images", as in the real exports
        n.input[:] = ["images" if i == "x" else i for i in n.input]
    g = helper.make_graph(nodes, name, [xin], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save_model(m, path)


def yolov5_head(path, h, wd, nc, opset, nodes, inits, conv_silu, fresh, levels):
    """YOLOv5's exported Detect head on the levels: per level a 1x1 conv to
    3 anchors x (5 + nc), Reshape to [1, 3, 5 + nc, gh, gw], Transpose to
    [1, 3, gh, gw, 5 + nc], Sigmoid, Split into xy / wh / confidences,
    xy = (2 xy + grid - 0.5) * stride, wh = (2 wh) ^ 2 * anchor (Pow),
    Concat and Reshape to [1, -1, 5 + nc]; the levels concatenated. The grid
    and anchors broadcast ([1, 1, gh, gw, 2], [1, 3, 1, 1, 2]). Output
    [1, points, 5 + nc], boxes (cx, cy, w, h) in input pixels."""
    N = helper.make_node
    na, no = 3, 5 + nc
    anchor_px = {8: [10, 13, 16, 30, 33, 23], 16: [30, 61, 62, 45, 59, 119], 32: [116, 90, 156, 198, 373, 326]}
    inits.extend([floats("v5_two", 2.0), ints("v5_split", [2, 2, 1 + nc]), ints("v5_out_shape", [1, -1, no])])
    flats, points = [], 0
    for feat, s in levels:
        gh, gw = h // s, wd // s
        points += na * gh * gw
        y = conv_silu(feat, 32, na * no, 1, act=False)
        # weights that spread the logits (random features are near constant)
        # and biases low for objectness and classes, as a trained model's
        # background
        inits[-2] = numpy_helper.from_array(numpy_helper.to_array(inits[-2]) * 6, inits[-2].name)
        b = np.zeros((na, no), np.float32)
        b[:, 4], b[:, 5:] = -2.0, -1.0
        inits[-1] = numpy_helper.from_array(b.ravel(), inits[-1].name)
        shp, grid, anc, stride = fresh("v5_shape"), fresh("v5_grid"), fresh("v5_anchors"), fresh("v5_stride")
        yy, xx = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        inits.extend([ints(shp, [1, na, no, gh, gw]),
                      floats(grid, (np.stack([xx, yy], -1) - 0.5).reshape(1, 1, gh, gw, 2)),
                      floats(anc, np.array(anchor_px[s], np.float32).reshape(1, na, 1, 1, 2)), floats(stride, float(s))])
        r, t, sg, xy, wh, conf = (fresh(p) for p in ("v5_r", "v5_t", "v5_sig", "v5_xy", "v5_wh", "v5_conf"))
        x2, xg, xp, w2, wp, wa = (fresh(p) for p in ("v5_xy2", "v5_xyg", "v5_xyp", "v5_wh2", "v5_whpow", "v5_wha"))
        cat, flat = fresh("v5_cat"), fresh("v5_flat")
        nodes.extend([N("Reshape", [y, shp], [r], name=r),
                      N("Transpose", [r], [t], name=t, perm=[0, 1, 3, 4, 2]),
                      N("Sigmoid", [t], [sg], name=sg),
                      N("Split", [sg, "v5_split"], [xy, wh, conf], name=fresh("v5_split"), axis=4),
                      N("Mul", [xy, "v5_two"], [x2], name=x2),
                      N("Add", [x2, grid], [xg], name=xg),
                      N("Mul", [xg, stride], [xp], name=xp),
                      N("Mul", [wh, "v5_two"], [w2], name=w2),
                      N("Pow", [w2, "v5_two"], [wp], name=wp),
                      N("Mul", [wp, anc], [wa], name=wa),
                      N("Concat", [xp, wa, conf], [cat], name=cat, axis=4),
                      N("Reshape", [cat, "v5_out_shape"], [flat], name=flat)])
        flats.append(flat)
    nodes.append(N("Concat", flats, ["output0"], name="output_cat", axis=1))
    finish_detector(path, "yolov5_like", h, wd, nodes, inits, [1, points, no], opset)
    return points


def yolov8_like(path, h, wd, nc=80, opset=17, head="v8"):
    """A small YOLOv8-style detector with its real export's op patterns: SiLU
    as Sigmoid * Mul, C2f blocks (Split, bottlenecks, Concat), SPPF (MaxPool
    chain), an FPN with nearest Resize (by scales, and by sizes computed
    from the input's shape as dynamic-shape exports do), per-level
    box and class branches, and the exported head: Reshape + Concat over the
    levels, Split into the DFL part and the classes, DFL as Reshape,
    Transpose, Softmax and a fixed 1x1 Conv, dist2bbox with Slice, Sub, Add,
    Div, Concat and the strides, sigmoid classes. Output [1, 4 + nc, points],
    boxes (cx, cy, w, h) in input pixels. Random weights."""
    nodes, inits = [], []
    N = helper.make_node
    k = [0]

    def fresh(p):
        k[0] += 1
        return "%s_%d" % (p, k[0])

    def conv_silu(x, cin, cout, ks=3, s=1, act=True):
        y = fresh("conv")
        wn, bn = fresh("w"), fresh("b")
        inits.extend([w(wn, cout, cin, ks, ks, scale=1.0 / np.sqrt(cin * ks * ks)), w(bn, cout, scale=0.1)])
        nodes.append(conv(y, x, y, wn, bn, kernel_shape=[ks, ks], strides=[s, s], pads=[ks // 2] * 4))
        if not act:
            return y
        sg, m = fresh("sig"), fresh("silu")
        nodes.extend([N("Sigmoid", [y], [sg], name=sg), N("Mul", [y, sg], [m], name=m)])
        return m

    def c2f(x, c):
        y = conv_silu(x, c, c, 1)
        a, b = fresh("split_a"), fresh("split_b")
        sp = fresh("split_sizes")
        inits.append(ints(sp, [c // 2, c // 2]))
        nodes.append(N("Split", [y, sp], [a, b], name=fresh("split"), axis=1))
        m = conv_silu(conv_silu(b, c // 2, c // 2), c // 2, c // 2)
        r = fresh("res")
        nodes.append(N("Add", [b, m], [r], name=r))
        cat = fresh("cat")
        nodes.append(N("Concat", [a, b, r], [cat], name=cat, axis=1))
        return conv_silu(cat, 3 * c // 2, c, 1)

    def up(x):
        y, sc = fresh("up"), fresh("scales")
        inits.append(floats(sc, [1, 1, 2, 2]))
        nodes.append(N("Resize", [x, "", sc], [y], name=y, mode="nearest"))
        return y

    def up_computed(x):
        """Nearest 2x by sizes computed from the input's shape, as exports
        with dynamic shapes write it: Shape -> Gather -> Cast -> Mul ->
        Cast -> Unsqueeze -> Concat behind the batch and channel dims."""
        y = fresh("up_computed")
        shp, nc_ = fresh("shape"), fresh("nc_dims")
        nodes.extend([N("Shape", [x], [shp], name=shp),
                      N("Slice", [shp, "sz_zero", "sz_two"], [nc_], name=nc_)])
        dims = []
        for axis in (2, 3):
            g, f, m, i, u = (fresh(p) for p in ("dim", "dim_f", "dim_x2", "dim_i", "dim_u"))
            nodes.extend([N("Gather", [shp, "sz_axis%d" % axis], [g], name=g, axis=0),
                          N("Cast", [g], [f], name=f, to=TensorProto.FLOAT),
                          N("Mul", [f, "sz_two_f"], [m], name=m),
                          N("Cast", [m], [i], name=i, to=TensorProto.INT64),
                          N("Unsqueeze", [i, "sz_zero"], [u], name=u)])
            dims.append(u)
        sz = fresh("sizes")
        nodes.append(N("Concat", [nc_] + dims, [sz], name=sz, axis=0))
        nodes.append(N("Resize", [x, "", "", sz], [y], name=y, mode="nearest",
                       coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
        return y

    inits.extend([ints("sz_zero", [0]), ints("sz_two", [2]), ints("sz_axis2", 2), ints("sz_axis3", 3),
                  floats("sz_two_f", 2.0)])
    x = conv_silu("x", 3, 8, 3, 2)
    x = conv_silu(x, 8, 16, 3, 2)
    x = c2f(x, 16)
    p3 = c2f(conv_silu(x, 16, 32, 3, 2), 32)
    p4 = c2f(conv_silu(p3, 32, 32, 3, 2), 32)
    p5 = conv_silu(p4, 32, 32, 3, 2)
    # SPPF
    s0 = conv_silu(p5, 32, 16, 1)
    pools = [s0]
    for _ in range(3):
        mp = fresh("sppf_pool")
        nodes.append(N("MaxPool", [pools[-1]], [mp], name=mp, kernel_shape=[5, 5], pads=[2, 2, 2, 2]))
        pools.append(mp)
    sp = fresh("sppf_cat")
    nodes.append(N("Concat", pools, [sp], name=sp, axis=1))
    p5 = conv_silu(sp, 64, 32, 1)
    # FPN: P5 up (by sizes) + P4, then up (by scales) + P3
    c4 = fresh("fpn_cat4")
    nodes.append(N("Concat", [up_computed(p5), p4], [c4], name=c4, axis=1))
    n4 = c2f(conv_silu(c4, 64, 32, 1), 32)
    c3 = fresh("fpn_cat3")
    nodes.append(N("Concat", [up(n4), p3], [c3], name=c3, axis=1))
    n3 = c2f(conv_silu(c3, 64, 32, 1), 32)
    if head == "v5":
        return yolov5_head(path, h, wd, nc, opset, nodes, inits, conv_silu, fresh, ((n3, 8), (n4, 16), (p5, 32)))
    reg = 16
    levels, anchors, strides = [], [], []
    for feat, s in ((n3, 8), (n4, 16), (p5, 32)):
        box = conv_silu(conv_silu(feat, 32, 16), 16, 4 * reg, 1, act=False)
        # the bins' bias falling, as a trained model's short distances
        # (boxes of a few strides, not the whole image)
        inits[-1] = numpy_helper.from_array(np.tile(-0.6 * np.arange(reg, dtype=np.float32), 4), inits[-1].name)
        cls = conv_silu(conv_silu(feat, 32, 16), 16, nc, 1, act=False)
        # the class logits' bias low, as a trained model's background
        inits[-1] = numpy_helper.from_array(np.full(nc, -4.0, np.float32), inits[-1].name)
        cat, flat = fresh("level_cat"), fresh("level_flat")
        shp = fresh("level_shape")
        inits.append(ints(shp, [1, 4 * reg + nc, -1]))
        nodes.extend([N("Concat", [box, cls], [cat], name=cat, axis=1), N("Reshape", [cat, shp], [flat], name=flat)])
        levels.append(flat)
        gh, gw = h // s, wd // s
        yy, xx = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
        anchors.append(np.stack([xx.ravel(), yy.ravel()]))
        strides.append(np.full(gh * gw, s))
    points = sum(a.shape[1] for a in anchors)
    allc, sizes = fresh("all_levels"), fresh("head_split")
    inits.append(ints(sizes, [4 * reg, nc]))
    nodes.append(N("Concat", levels, [allc], name=allc, axis=2))
    nodes.append(N("Split", [allc, sizes], ["dfl_in", "cls_logits"], name="head_split", axis=1))
    # DFL: softmax over the 16 bins, expectation by a fixed 1x1 conv
    inits.extend([ints("dfl_shape", [1, 4, reg, points]), ints("dfl_out_shape", [1, 4, points]),
                  numpy_helper.from_array(np.arange(reg, dtype=np.float32).reshape(1, reg, 1, 1), "dfl_w")])
    nodes.extend([N("Reshape", ["dfl_in", "dfl_shape"], ["dfl_r"], name="dfl_reshape"),
                  N("Transpose", ["dfl_r"], ["dfl_t"], name="dfl_transpose", perm=[0, 2, 1, 3]),
                  N("Softmax", ["dfl_t"], ["dfl_sm"], name="dfl_softmax", axis=1),
                  N("Conv", ["dfl_sm", "dfl_w"], ["dfl_c"], name="dfl_conv"),
                  N("Reshape", ["dfl_c", "dfl_out_shape"], ["dist"], name="dfl_out")])
    # dist2bbox (xywh), times the strides
    inits.extend([numpy_helper.from_array(np.concatenate(anchors, 1)[None].astype(np.float32), "anchor_points"),
                  numpy_helper.from_array(np.concatenate(strides)[None].astype(np.float32), "stride_tensor"),
                  ints("lt_s", [0]), ints("lt_e", [2]), ints("rb_s", [2]), ints("rb_e", [4]), ints("ax1", [1]),
                  floats("two", 2.0)])
    nodes.extend([N("Slice", ["dist", "lt_s", "lt_e", "ax1"], ["lt"], name="slice_lt"),
                  N("Slice", ["dist", "rb_s", "rb_e", "ax1"], ["rb"], name="slice_rb"),
                  N("Sub", ["anchor_points", "lt"], ["x1y1"], name="x1y1"),
                  N("Add", ["anchor_points", "rb"], ["x2y2"], name="x2y2"),
                  N("Add", ["x1y1", "x2y2"], ["cxy2"], name="cxy_sum"),
                  N("Div", ["cxy2", "two"], ["cxy"], name="cxy"),
                  N("Sub", ["x2y2", "x1y1"], ["wh"], name="wh"),
                  N("Concat", ["cxy", "wh"], ["dbox"], name="dbox", axis=1),
                  N("Mul", ["dbox", "stride_tensor"], ["boxes"], name="to_pixels"),
                  N("Sigmoid", ["cls_logits"], ["scores"], name="cls_sigmoid"),
                  N("Concat", ["boxes", "scores"], ["output0"], name="output_cat", axis=1)])
    finish_detector(path, "yolov8_like", h, wd, nodes, inits, [1, 4 + nc, points], opset)
    return points


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
    # Scales that do not give whole sizes: ONNX floors (7.5 -> 7, 10.5 -> 10).
    S("resize_linear_scales_fraction", [N("Resize", ["x", "", "sc"], ["y"], name="up", mode="linear")],
      [floats("sc", [1, 1, 1.5, 1.5])], [1, 3, 5, 7], ["y"])
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

    # What real exported detectors add: YOLOv5's Focus slices, MobileNet's
    # hard activations and ReLU6, Resize by sizes, SAME_LOWER, ceil_mode.
    big = 2 ** 63 - 1
    S("slice_focus_steps", [N("Slice", ["x", "s0", "e0", "a0", "st"], ["p0"], name="sl_00"),
                            N("Slice", ["x", "s1", "e0", "a0", "st"], ["p1"], name="sl_10"),
                            N("Slice", ["x", "s2", "e0", "a0", "st"], ["p2"], name="sl_01"),
                            N("Slice", ["x", "s3", "e0", "a0", "st"], ["p3"], name="sl_11"),
                            N("Concat", ["p0", "p1", "p2", "p3"], ["f"], name="focus_cat", axis=1),
                            conv("c", "f", "y", "w", "b", pads=[1, 1, 1, 1])],
      [ints("s0", [0, 0]), ints("s1", [1, 0]), ints("s2", [0, 1]), ints("s3", [1, 1]), ints("e0", [big, big]),
       ints("a0", [2, 3]), ints("st", [2, 2]), w("w", 8, 12, 3, 3), w("b", 8)], [1, 3, 12, 10], ["y"])
    S("slice_negative_and_reverse", [N("Slice", ["x", "s", "e", "a"], ["y"], name="sl_neg"),
                                     N("Slice", ["x", "s2", "e2", "a2", "st2"], ["z"], name="sl_rev"),
                                     N("Slice", ["x", "s3", "e3"], ["u"], name="sl_default_axes")],
      [ints("s", [-2, 1]), ints("e", [big, -1]), ints("a", [1, -1]),
       ints("s2", [-1]), ints("e2", [-big]), ints("a2", [2]), ints("st2", [-2]),
       ints("s3", [0, 1, 2]), ints("e3", [1, 3, 100])], [1, 4, 7, 9], ["y", "z", "u"])
    S("hard_activations_clip", [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
                                N("HardSwish", ["a"], ["hs"], name="hswish"),
                                conv("c2", "hs", "b", "w2", "b2"),
                                N("HardSigmoid", ["b"], ["hg"], name="hsig", alpha=0.3, beta=0.4),
                                N("Clip", ["a", "zero", "six"], ["r6"], name="relu6"),
                                N("Clip", ["x", "mone"], ["lo"], name="clip_min_only"),
                                N("HardSwish", ["x"], ["hx"], name="hswish_alone")],
      [w("w1", 6, 3, 3, 3, scale=1.5), w("b1", 6), w("w2", 4, 6, 1, 1), w("b2", 4), floats("zero", 0.0),
       floats("six", 6.0), floats("mone", -1.0)], [1, 3, 8, 9], ["hg", "r6", "lo", "hx"], opset=14)
    S("resize_nearest_sizes", [conv("c", "x", "t", "w", "b"),
                               N("Resize", ["t", "", "", "sz"], ["y"], name="up_sizes", mode="nearest",
                                 coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
      [w("w", 4, 3, 1, 1), w("b", 4), ints("sz", [1, 4, 10, 21])], [1, 3, 5, 7], ["y"])
    S("same_lower_conv_pool", [conv("c", "x", "a", "w", "b", strides=[2, 2], auto_pad="SAME_LOWER"),
                               N("MaxPool", ["a"], ["y"], name="mp", kernel_shape=[2, 2], auto_pad="SAME_LOWER")],
      [w("w", 5, 3, 4, 4), w("b", 5)], [1, 3, 11, 14], ["y"])
    S("pool_ceil_mode", [N("MaxPool", ["x"], ["y"], name="mp_ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
                         N("MaxPool", ["x"], ["z"], name="mp_ceil_pad", kernel_shape=[2, 2], strides=[2, 2],
                           pads=[1, 0, 0, 1], ceil_mode=1),
                         N("AveragePool", ["x"], ["u"], name="ap_ceil", kernel_shape=[3, 3], strides=[2, 2],
                           pads=[1, 1, 1, 1], ceil_mode=1)],
      [], [1, 3, 10, 13], ["y", "z", "u"])

    # Shapes computed from a computed tensor (exports without constant
    # folding): Shape -> Gather / Slice -> Unsqueeze -> Cast -> Concat ->
    # Reshape, resolved when compile sets the (symbolic) batch and size.
    S("computed_shape_chain", [conv("c", "x", "t", "w", "b", pads=[1, 1, 1, 1]),
                               N("Shape", ["t"], ["s"], name="shape_of_conv"),
                               N("Gather", ["s", "i0"], ["n"], name="batch_dim", axis=0),
                               N("Gather", ["s", "i1"], ["ch"], name="channel_dim", axis=0),
                               N("Slice", ["s", "two", "four"], ["hw"], name="hw_dims"),
                               N("Unsqueeze", ["n", "ax"], ["un"], name="unsq_n"),
                               N("Unsqueeze", ["ch", "ax"], ["uc"], name="unsq_c"),
                               N("Cast", ["uc"], ["uc64"], name="cast_c", to=TensorProto.INT64),
                               N("Div", ["uc64", "two_i"], ["half_c"], name="half_channels"),
                               N("Concat", ["un", "half_c", "m1"], ["shp"], name="target_shape", axis=0),
                               N("Reshape", ["t", "shp"], ["y"], name="rs"),
                               N("Concat", ["un", "uc", "hw"], ["shp4"], name="same_shape", axis=0),
                               N("Reshape", ["t", "shp4"], ["z"], name="rs_same"),
                               N("Sigmoid", ["z"], ["zs"], name="sig")],
      [w("w", 6, 3, 3, 3), w("b", 6), ints("i0", 0), ints("i1", 1), ints("two", [2]), ints("four", [4]),
       ints("ax", [0]), ints("two_i", [2]), ints("m1", [-1])], [2, 3, 9, 7], ["y", "zs"],
      dims=["N", 3, "H", "W"])

    # Pow and Sqrt (normalisations, YOLOv5's (2 sigmoid)^2 box sizes), with
    # broadcasting both ways and an integer exponent (opset 12+).
    S("pow_broadcast", [N("Sigmoid", ["x"], ["s"], name="sig"),
                        N("Pow", ["s", "e_c11"], ["y"], name="pow_per_channel"),
                        N("Pow", ["x", "two_i"], ["z"], name="pow_int_exponent"),
                        N("Pow", ["base_w", "s"], ["u"], name="pow_const_base"),
                        N("GlobalAveragePool", ["x"], ["g"], name="gap"),
                        N("Pow", ["s", "g"], ["v"], name="pow_tensor_tensor")],
      [floats("e_c11", rng.uniform(0.5, 3, (1, 4, 1, 1))), ints("two_i", 2),
       floats("base_w", rng.uniform(0.5, 2, 7))], [1, 4, 5, 7], ["y", "z", "u", "v"])
    S("pow_exponent_from_shape", [N("Shape", ["x"], ["s"], name="shape"),
                                  N("Gather", ["s", "i1"], ["c"], name="channels", axis=0),
                                  N("Pow", ["x", "c"], ["y"], name="pow_by_channels")],
      [ints("i1", 1)], [1, 3, 5, 4], ["y"])
    S("sqrt_instance_norm", [N("GlobalAveragePool", ["x"], ["m"], name="mean"),
                             N("Sub", ["x", "m"], ["d"], name="centre"),
                             N("Pow", ["d", "two"], ["d2"], name="square"),
                             N("GlobalAveragePool", ["d2"], ["v"], name="variance"),
                             N("Add", ["v", "eps"], ["ve"], name="plus_eps"),
                             N("Sqrt", ["ve"], ["sd"], name="sqrt"),
                             N("Div", ["d", "sd"], ["y"], name="normalise"),
                             conv("c", "x", "t", "w", "b", pads=[1, 1, 1, 1]),
                             N("Mul", ["t", "t"], ["t2"], name="conv_squared"),
                             N("Sqrt", ["t2"], ["z"], name="sqrt_of_conv")],
      [floats("two", 2.0), floats("eps", 1e-5), w("w", 5, 3, 3, 3), w("b", 5)], [1, 3, 8, 6], ["y", "z"])

    # Resize targets computed from the input's shape (exports with dynamic
    # axes), resolved when compile sets the size: sizes by integer shape
    # arithmetic (nearest), sizes through float, Floor and Cast (PyTorch's
    # opset 11 interpolate; linear), and scales as a Div of two float Casts
    # of shapes (integers would divide to 1).
    def shape_dims(x, p):
        return [N("Shape", [x], [p + "_shape"], name=p + "_shape"),
                N("Slice", [p + "_shape", "zero", "two"], [p + "_nc"], name=p + "_nc"),
                N("Slice", [p + "_shape", "two", "four"], [p + "_hw"], name=p + "_hw")]
    S("resize_computed_sizes_nearest",
      [conv("c", "x", "t", "w", "b")] + shape_dims("t", "t") +
      [N("Gather", ["t_shape", "i2"], ["h"], name="gather_h", axis=0),
       N("Gather", ["t_shape", "i3"], ["wd"], name="gather_w", axis=0),
       N("Mul", ["h", "three"], ["h3"], name="h_times_3"),
       N("Mul", ["wd", "two_s"], ["w2"], name="w_times_2"),
       N("Unsqueeze", ["h3", "zero"], ["uh"], name="unsq_h"),
       N("Unsqueeze", ["w2", "zero"], ["uw"], name="unsq_w"),
       N("Concat", ["t_nc", "uh", "uw"], ["sz"], name="sizes", axis=0),
       N("Resize", ["t", "", "", "sz"], ["y"], name="up_computed", mode="nearest",
         coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
      [w("w", 4, 3, 1, 1), w("b", 4), ints("zero", [0]), ints("two", [2]), ints("four", [4]), ints("i2", 2),
       ints("i3", 3), ints("three", 3), ints("two_s", 2)], [1, 3, 5, 7], ["y"], dims=["N", 3, "H", "W"])
    S("resize_computed_sizes_linear_floor",
      shape_dims("x", "x") +
      [N("Cast", ["x_hw"], ["hw_f"], name="cast_hw_float", to=TensorProto.FLOAT),
       N("Mul", ["hw_f", "factors"], ["hw_scaled"], name="scale_hw"),
       N("Floor", ["hw_scaled"], ["hw_floor"], name="floor_hw"),
       N("Cast", ["hw_floor"], ["hw_i"], name="cast_hw_int", to=TensorProto.INT64),
       N("Concat", ["x_nc", "hw_i"], ["sz"], name="sizes", axis=0),
       N("Resize", ["x", "", "", "sz"], ["y"], name="up_linear", mode="linear")],
      [ints("zero", [0]), ints("two", [2]), ints("four", [4]), floats("factors", [1.5, 2.5])], [1, 3, 6, 5], ["y"],
      dims=["N", 3, "H", "W"])
    S("resize_computed_scales_div",
      shape_dims("x", "x") +
      [N("Mul", ["x_hw", "three"], ["hw3"], name="hw_times_3"),
       N("Cast", ["hw3"], ["num"], name="cast_num", to=TensorProto.FLOAT),
       N("Cast", ["x_hw"], ["den"], name="cast_den", to=TensorProto.FLOAT),
       N("Div", ["num", "den"], ["hw_scales"], name="scales_hw"),
       N("Div", ["hw_scales", "two_f"], ["half"], name="half_scales"),
       N("Concat", ["ones", "half"], ["sc"], name="scales", axis=0),
       N("Resize", ["x", "", "sc"], ["y"], name="up_by_1_5", mode="linear"),
       N("Concat", ["ones", "hw_scales"], ["sc3"], name="scales3", axis=0),
       N("Resize", ["x", "", "sc3"], ["z"], name="up_by_3", mode="nearest")],
      [ints("zero", [0]), ints("two", [2]), ints("four", [4]), ints("three", 3), floats("two_f", 2.0),
       floats("ones", [1, 1])], [1, 3, 6, 4], ["y", "z"], dims=["N", 3, "H", "W"])

    yolov8_like(os.path.join(out, "yolov8_like_160x128.onnx"), 128, 160, nc=6)
    cases.append({"name": "yolov8_like_160x128", "file": "yolov8_like_160x128.onnx", "shape": [1, 3, 128, 160],
                  "kind": "case", "dynamic": False})
    yolov8_like(os.path.join(out, "yolov5_like_160x128.onnx"), 128, 160, nc=6, head="v5")
    cases.append({"name": "yolov5_like_160x128", "file": "yolov5_like_160x128.onnx", "shape": [1, 3, 128, 160],
                  "kind": "case", "dynamic": False})

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
    S("bad_gather_of_data", [N("Gather", ["x", "i0"], ["y"], name="gather_pixels", axis=1)], [ints("i0", [0, 2])],
      [1, 3, 8, 8], ["y"], kind="bad")
    S("bad_slice_step_zero", [N("Slice", ["x", "s", "e", "a", "st"], ["y"], name="slice_zero_step")],
      [ints("s", [0]), ints("e", [4]), ints("a", [2]), ints("st", [0])], [1, 3, 8, 8], ["y"], kind="bad")
    S("bad_resize_sizes_not_integer", [N("Resize", ["x", "", "", "sz"], ["y"], name="up_by_1_5", mode="nearest",
                                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
      [ints("sz", [1, 3, 12, 12])], [1, 3, 8, 8], ["y"], kind="bad")
    # Found by fuzz_onnx: a pool without inputs escaped as std::out_of_range.
    S("bad_pool_no_input", [N("MaxPool", [], ["y"], name="pool_nothing", kernel_shape=[2, 2])], [], [1, 3, 8, 8],
      ["y"], kind="bad")
    # Upsample: what exporters wrote before opset 11 (Resize since); an opset
    # 9 file says to re-export, and an Upsample in a newer file is named.
    S("bad_upsample_opset9", [N("Upsample", ["x", "sc"], ["y"], name="up_old", mode="nearest")],
      [floats("sc", [1, 1, 2, 2])], [1, 3, 8, 8], ["y"], opset=9, kind="bad")
    S("bad_upsample_opset11", [N("Upsample", ["x", "sc"], ["y"], name="up_deprecated", mode="nearest")],
      [floats("sc", [1, 1, 2, 2])], [1, 3, 8, 8], ["y"], opset=11, kind="bad")
    # A computed target that is not integer factors (nearest), and one
    # computed from pixel values, not shapes.
    S("bad_resize_computed_fraction", [N("Shape", ["x"], ["s"], name="shape"),
                                       N("Slice", ["s", "two", "four"], ["hw"], name="hw"),
                                       N("Cast", ["hw"], ["hw_f"], name="cast_f", to=TensorProto.FLOAT),
                                       N("Div", ["hw_f", "hw_f"], ["one"], name="ones"),
                                       N("Mul", ["one", "f15"], ["s15"], name="times_1_5"),
                                       N("Concat", ["ones_c", "s15"], ["sc"], name="scales", axis=0),
                                       N("Resize", ["x", "", "sc"], ["y"], name="up_computed_1_5", mode="nearest")],
      [ints("two", [2]), ints("four", [4]), floats("f15", 1.5), floats("ones_c", [1, 1])], [1, 3, 8, 8], ["y"],
      kind="bad")
    S("bad_resize_sizes_from_pixels", [N("Slice", ["x", "zero4", "one4"], ["p"], name="one_pixel"),
                                       N("Reshape", ["p", "one"], ["m"], name="flat"),
                                       N("Cast", ["m"], ["mi"], name="pixel_to_int", to=TensorProto.INT64),
                                       N("Concat", ["nc", "mi", "mi"], ["sz"], name="sizes", axis=0),
                                       N("Resize", ["x", "", "", "sz"], ["y"], name="up_by_pixel", mode="nearest")],
      [ints("zero4", [0, 0, 0, 0]), ints("one4", [1, 1, 1, 1]), ints("one", [1]), ints("nc", [1, 3])], [1, 3, 8, 8],
      ["y"], kind="bad")
    # Found by fuzz_onnx: a scale of 2.2e20 was cast to int (undefined).
    S("bad_resize_scale_huge", [N("Resize", ["x", "", "sc"], ["y"], name="up_huge", mode="nearest",
                                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
      [floats("sc", [1, 1, 2.2e20, 2])], [1, 3, 8, 8], ["y"], kind="bad")


def main():
    if len(sys.argv) in (5, 6) and sys.argv[1] in ("--yolov8", "--yolov5"):
        nc = int(sys.argv[5]) if len(sys.argv) == 6 else 80
        head = sys.argv[1][-2:]
        print(yolov8_like(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), nc, head=head), "points")
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    build(out)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main()
