package dev.visiontower.backend.onnx;

import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** ONNX message builders (field numbers of onnx.proto) used by the ONNX Runtime backend and the exporter. */
final class OnnxGraph {
    static final int IR_VERSION = 9;
    static final int OPSET = 20;
    /** ONNX Runtime's contrib operator domain (Attention, SkipLayerNormalization, DynamicQuantizeMatMul, ...). */
    static final String MICROSOFT = "com.microsoft";

    private OnnxGraph() {
    }

    static int elemType(DType t) {
        switch (t) {
            case FLOAT32: return 1;
            case UINT8: return 2;
            case INT8: return 3;
            case INT32: return 6;
            case INT64: return 7;
            case FLOAT16: return 10;
            case FLOAT64: return 11;
            case BFLOAT16: return 16;
            default: throw new IllegalArgumentException("no ONNX type for " + t);
        }
    }

    /** An attribute holder for one node: add attributes with the methods below. */
    static Protobuf attrs() {
        return new Protobuf();
    }

    static Protobuf attrInt(Protobuf node, String name, long v) {
        return node.message(5, new Protobuf().string(1, name).int64(20, 2).int64(3, v));
    }

    static Protobuf attrFloat(Protobuf node, String name, float v) {
        return node.message(5, new Protobuf().string(1, name).int64(20, 1).float32(2, v));
    }

    static Protobuf attrString(Protobuf node, String name, String v) {
        return node.message(5, new Protobuf().string(1, name).int64(20, 3).string(4, v));
    }

    static Protobuf attrInts(Protobuf node, String name, long... v) {
        Protobuf a = new Protobuf().string(1, name).int64(20, 7);
        for (long x : v) {
            a.int64(8, x);
        }
        return node.message(5, a);
    }

    /** TensorProto with raw little-endian data. */
    static Protobuf tensor(String name, HostTensor t) {
        Protobuf p = new Protobuf();
        for (long d : t.shape()) {
            p.int64(1, d);
        }
        p.int64(2, elemType(t.dtype()));
        p.string(8, name);
        p.bytes(9, rawBytes(t));
        return p;
    }

    /**
     * TensorProto whose data lives outside the model ({@code data_location = EXTERNAL}); ONNX Runtime takes it from the
     * in-memory tensors passed to {@code SessionOptions.addExternalInitializers}.
     */
    static Protobuf externalTensor(String name, DType dtype, long[] shape, long bytes) {
        Protobuf p = new Protobuf();
        for (long d : shape) {
            p.int64(1, d);
        }
        p.int64(2, elemType(dtype));
        p.string(8, name);
        p.message(13, new Protobuf().string(1, "location").string(2, "visiontower-shared-" + name));
        p.message(13, new Protobuf().string(1, "offset").string(2, "0"));
        p.message(13, new Protobuf().string(1, "length").string(2, Long.toString(bytes)));
        p.int64(14, 1);
        return p;
    }

    /** A native tensor over a direct buffer holding {@code t}'s values (float32, int8 or int64), owned by the caller. */
    static ai.onnxruntime.OnnxTensor nativeTensor(ai.onnxruntime.OrtEnvironment env, HostTensor t)
            throws ai.onnxruntime.OrtException {
        byte[] raw = rawBytes(t);
        ByteBuffer direct = ByteBuffer.allocateDirect(Math.max(raw.length, 1)).order(ByteOrder.nativeOrder());
        direct.put(raw).flip();
        switch (t.dtype()) {
            case FLOAT32: return ai.onnxruntime.OnnxTensor.createTensor(env, direct.asFloatBuffer(), t.shape());
            case INT64: return ai.onnxruntime.OnnxTensor.createTensor(env, direct.asLongBuffer(), t.shape());
            case INT8: return ai.onnxruntime.OnnxTensor.createTensor(env, direct, t.shape(),
                    ai.onnxruntime.OnnxJavaType.INT8);
            default: throw new IllegalArgumentException("no native tensor for " + t.dtype());
        }
    }

    /** The element type of a native tensor, as this library names it. */
    static DType dtypeOf(ai.onnxruntime.OnnxTensor t) {
        switch (t.getInfo().type) {
            case FLOAT: return DType.FLOAT32;
            case INT64: return DType.INT64;
            case INT8: return DType.INT8;
            case UINT8: return DType.UINT8;
            default: throw new IllegalArgumentException("unexpected native tensor type " + t.getInfo().type);
        }
    }

    static byte[] rawBytes(HostTensor t) {
        switch (t.dtype()) {
            case FLOAT32: {
                float[] f = t.floats();
                ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(f);
                return b.array();
            }
            case INT64: {
                long[] l = t.longs();
                ByteBuffer b = ByteBuffer.allocate(l.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                b.asLongBuffer().put(l);
                return b.array();
            }
            case UINT8:
            case INT8:
                return t.bytes().clone();
            default:
                throw new IllegalArgumentException("cannot store " + t.dtype());
        }
    }

    /** ValueInfoProto; a negative dimension is written as the symbolic dimension {@code symbol}. */
    static Protobuf valueInfo(String name, DType dtype, long[] shape, String symbol) {
        Protobuf dims = new Protobuf();
        for (long d : shape) {
            dims.message(1, d < 0 ? new Protobuf().string(2, symbol) : new Protobuf().int64(1, d));
        }
        Protobuf tensorType = new Protobuf().int64(1, elemType(dtype)).message(2, dims);
        return new Protobuf().string(1, name).message(2, new Protobuf().message(1, tensorType));
    }

    /** ValueInfoProto whose dimensions found in {@code symbolic} are written as named dynamic axes. */
    static Protobuf valueInfo(String name, DType dtype, long[] shape, java.util.Map<Long, String> symbolic) {
        Protobuf dims = new Protobuf();
        for (long d : shape) {
            String sym = symbolic.get(d);
            dims.message(1, sym != null ? new Protobuf().string(2, sym) : new Protobuf().int64(1, d));
        }
        Protobuf tensorType = new Protobuf().int64(1, elemType(dtype)).message(2, dims);
        return new Protobuf().string(1, name).message(2, new Protobuf().message(1, tensorType));
    }

    /** TensorProto whose data is {@code length} bytes at {@code offset} of the file {@code location}. */
    static Protobuf tensorInFile(String name, HostTensor t, String location, long offset, long length) {
        Protobuf p = new Protobuf();
        for (long d : t.shape()) {
            p.int64(1, d);
        }
        p.int64(2, elemType(t.dtype()));
        p.string(8, name);
        p.message(13, new Protobuf().string(1, "location").string(2, location));
        p.message(13, new Protobuf().string(1, "offset").string(2, Long.toString(offset)));
        p.message(13, new Protobuf().string(1, "length").string(2, Long.toString(length)));
        p.int64(14, 1);
        return p;
    }

    static byte[] model(Protobuf graph, int opset) {
        return new Protobuf().int64(1, IR_VERSION).string(2, "visiontower").message(7, graph)
                .message(8, new Protobuf().string(1, "").int64(2, opset))
                .message(8, new Protobuf().string(1, MICROSOFT).int64(2, 1)).toByteArray();
    }

    static Protobuf node(String op, String domain, String[] inputs, String output, Protobuf attributes) {
        return node(op, domain, inputs, new String[] {output}, attributes);
    }

    static Protobuf node(String op, String domain, String[] inputs, String[] outputs, Protobuf attributes) {
        Protobuf n = new Protobuf();
        for (String in : inputs) {
            n.string(1, in);
        }
        for (String out : outputs) {
            n.string(2, out);
        }
        n.string(4, op);
        if (domain != null && !domain.isEmpty()) {
            n.string(7, domain);
        }
        return attributes == null ? n : n.append(attributes);
    }

}
