package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libtorch specifics: data round trips and error translation. Every operation is checked against the float64
 * reference by the conformance kit ({@code conformance-tests}), which runs on this backend in the build.
 */
class TorchOpsTest {
    static Backend backend;
    static dev.visiontower.api.Ops ops;

    @BeforeAll
    static void open() {
        backend = Backends.open("libtorch", Device.CPU);
        ops = backend.ops();
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @Test
    void roundTripKeepsValuesAndDtype() {
        float[] v = {1, 2, 3, 4, 5, 6};
        try (Tensor t = backend.fromHost(HostTensor.ofFloats(v, 2, 3))) {
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(v, t.toHost().floats());
        }
        try (Tensor t = backend.fromHost(HostTensor.ofLongs(new long[] {1, -2}, 2))) {
            assertEquals(DType.INT64, t.dtype());
            assertArrayEquals(new long[] {1, -2}, t.toHost().longs());
        }
    }

    @Test
    void shapeErrorsAreClearAndLoseNothing() {
        try (TensorScope s = backend.newScope()) {
            Tensor x = backend.fromHost(HostTensor.ofFloats(new float[6], 2, 3));
            Tensor w = backend.fromHost(HostTensor.ofFloats(new float[8], 2, 4));
            String m = assertThrows(InvalidInputException.class, () -> ops.linear(x, w, null)).getMessage();
            assertTrue(m.contains("[2, 3]") && m.contains("[2, 4]"), m);
            String r = assertThrows(InvalidInputException.class, () -> ops.reshape(x, 4, 2)).getMessage();
            // checked before libtorch sees it, in the words every backend uses (ShapeRules)
            assertEquals("reshape: cannot reshape [2, 3] (6 elements) to [4, 2]", r);
            assertArrayEquals(new float[6], x.toHost().floats());
        }
    }
}
