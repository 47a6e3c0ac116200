package dev.visiontower.api.checkpoint;

import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightMappingTest {
    @TempDir
    Path tmp;

    private Safetensors file(Map<String, HostTensor> m) {
        Path p = tmp.resolve("w.safetensors");
        SafetensorsWriter.write(p, m, Map.of());
        return Safetensors.open(p);
    }

    @Test
    void transformsTransposeRowBlocksAndSqueeze() {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("proj", HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        m.put("in_proj", HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        m.put("cls", HostTensor.ofFloats(new float[] {7, 8}, 1, 1, 2));
        try (Safetensors s = file(m)) {
            WeightMapping wm = new WeightMapping().transposed("p", "proj").rowBlock("k", "in_proj", 1, 3)
                    .map("c", "cls");
            Map<String, long[]> expected = new LinkedHashMap<>();
            expected.put("p", new long[] {3, 2});
            expected.put("k", new long[] {1, 2});
            expected.put("c", new long[] {2});
            WeightSource w = wm.bind(s, expected, true, "test");
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, w.load("p").floats());
            assertArrayEquals(new float[] {3, 4}, w.load("k").floats());
            assertArrayEquals(new float[] {7, 8}, w.load("c").floats());
            assertArrayEquals(new long[] {2}, w.load("c").shape());
        }
    }

    @Test
    void reportsMissingUnexpectedAndMisShapedByName() {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("a", HostTensor.ofFloats(new float[] {1, 2, 3}, 3));
        m.put("extra", HostTensor.ofFloats(new float[] {1}, 1));
        try (Safetensors s = file(m)) {
            WeightMapping wm = new WeightMapping().map("x", "a").map("y", "b");
            Map<String, long[]> expected = new LinkedHashMap<>();
            expected.put("x", new long[] {4});
            expected.put("y", new long[] {2});
            String msg = assertThrows(CheckpointException.class, () -> wm.bind(s, expected, true, "ckpt"))
                    .getMessage();
            assertTrue(msg.contains("missing tensors [b]"), msg);
            assertTrue(msg.contains("a: expected [4], got [3]"), msg);
            assertTrue(msg.contains("unexpected tensors [extra]"), msg);
            // lenient loading still refuses missing and mis-shaped tensors, but not extra ones
            String lenient = assertThrows(CheckpointException.class, () -> wm.bind(s, expected, false, "ckpt"))
                    .getMessage();
            assertTrue(!lenient.contains("unexpected"), lenient);
        }
    }
}
