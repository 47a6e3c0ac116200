package dev.visiontower.backend.libtorch;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TorchOpsTest {
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backends.open("libtorch", Device.CPU);
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
    }
}
