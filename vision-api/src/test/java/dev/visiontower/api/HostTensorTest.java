package dev.visiontower.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class HostTensorTest {
    @Test
    void rowsAreDividedByTheirNormAndAZeroRowStaysZero() {
        HostTensor t = HostTensor.ofFloats(new float[] {3, 4, 0, 0, 0, -2}, 3, 2);
        HostTensor n = t.l2NormalizeRows();
        assertArrayEquals(new long[] {3, 2}, n.shape());
        assertArrayEquals(new float[] {0.6f, 0.8f, 0, 0, 0, -1}, n.floats(), 1e-7f);
        assertArrayEquals(new float[] {3, 4, 0, 0, 0, -2}, t.floats(), "the input is not changed");
        assertArrayEquals(new float[] {0.6f, 0.8f}, HostTensor.l2Normalize(new float[] {3, 4}), 1e-7f);
    }
}
