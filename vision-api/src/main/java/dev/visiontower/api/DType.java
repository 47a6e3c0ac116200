package dev.visiontower.api;

import java.util.Locale;

/** Element types the library moves between files, host memory and backends. */
public enum DType {
    FLOAT32(4, "F32"),
    FLOAT16(2, "F16"),
    BFLOAT16(2, "BF16"),
    FLOAT64(8, "F64"),
    INT64(8, "I64"),
    INT32(4, "I32"),
    UINT8(1, "U8"),
    /**
     * Signed 8-bit integers: quantised weights. As a compute type ({@link dev.visiontower.api.spi.BackendOptions})
     * it means int8 matrix products: weights quantised per output channel once, activations quantised per product at
     * run time, everything else (and every tensor the caller sees) float32.
     */
    INT8(1, "I8");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The dtype string used in safetensors headers ({@code F32}, {@code BF16}, ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT16 || this == BFLOAT16 || this == FLOAT64;
    }

    /** Parses a safetensors dtype string; returns {@code null} for a dtype this library does not read. */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** Parses a user-facing name such as {@code float32}, {@code fp16}, {@code bf16}. */
    public static DType parse(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "float32": case "fp32": case "f32": return FLOAT32;
            case "float16": case "fp16": case "f16": case "half": return FLOAT16;
            case "bfloat16": case "bf16": return BFLOAT16;
            case "float64": case "fp64": case "f64": case "double": return FLOAT64;
            case "int64": case "i64": case "long": return INT64;
            case "int32": case "i32": case "int": return INT32;
            case "uint8": case "u8": return UINT8;
            case "int8": case "i8": return INT8;
            default:
                throw new InvalidInputException("unknown dtype '" + name
                        + "', expected one of [float32, float16, bfloat16, int8, float64, int64, int32, uint8]");
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
