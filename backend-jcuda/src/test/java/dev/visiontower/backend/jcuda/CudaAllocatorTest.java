package dev.visiontower.backend.jcuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Host-side arithmetic of the allocator and the kernels' argument structs. */
class CudaAllocatorTest {
    @Test
    void sizesRoundToBuckets() {
        assertEquals(512, CudaAllocator.round(0));
        assertEquals(512, CudaAllocator.round(1));
        assertEquals(512, CudaAllocator.round(512));
        assertEquals(1024, CudaAllocator.round(513));
        assertEquals(1 << 20, CudaAllocator.round((1 << 20) - 1));
        assertEquals(2L << 20, CudaAllocator.round((1 << 20) + 1));
        assertEquals(4L << 20, CudaAllocator.round((2L << 20) + 1));
    }

    @Test
    void layoutStructsArePackedLikeTheKernelsExpect() {
        long[] l = Kernels.layout(new long[] {2, 3}, new long[] {3, 1});
        assertEquals(17, l.length);
        assertEquals(2, l[0]);
        assertArrayEquals(new long[] {2, 3}, new long[] {l[1], l[2]});
        assertArrayEquals(new long[] {3, 1}, new long[] {l[9], l[10]});
        long[] l2 = Kernels.layout2(new long[] {4}, new long[] {1}, new long[] {0});
        assertEquals(25, l2.length);
        assertEquals(4, l2[1]);
        assertEquals(1, l2[9]);
        assertEquals(0, l2[17]);
    }
}
