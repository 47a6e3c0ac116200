package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The states a kill can leave between the renames that replace a checkpoint, and how they are recovered. */
class CheckpointWriterTest {
    @TempDir
    Path tmp;

    private void write(Path dir, float v) {
        CheckpointWriter.write(dir, tmp, Map.of("w", HostTensor.ofFloats(new float[] {v}, 1)),
                Map.of("epoch.txt", Float.toString(v).getBytes()));
    }

    private static float value(Path dir) {
        try (Safetensors s = Safetensors.open(dir.resolve("model.safetensors"))) {
            return s.read("w").floats()[0];
        }
    }

    private List<String> hidden() throws IOException {
        try (var s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".out")).sorted().toList();
        }
    }

    @Test
    void aCompleteNewCheckpointWinsWhenTheOutputWasAlreadyMovedAside() throws IOException {
        Path out = tmp.resolve("out");
        write(out, 1);
        write(tmp.resolve("next"), 2);
        // killed after "out -> .out.old" and before ".out.X.tmp -> out": the new one is complete
        Files.move(out, tmp.resolve(".out.old"));
        Files.move(tmp.resolve("next"), tmp.resolve(".out.abc.tmp"));
        Files.write(tmp.resolve(".out.abc.tmp").resolve(CheckpointWriter.COMPLETE), new byte[0]);
        CheckpointWriter.recover(out);
        assertEquals(2, value(out));
        assertFalse(Files.exists(out.resolve(CheckpointWriter.COMPLETE)));
        assertEquals(List.of(), hidden());
    }

    @Test
    void thePreviousCheckpointComesBackWhenTheNewOneIsIncomplete() throws IOException {
        Path out = tmp.resolve("out");
        write(out, 1);
        Files.move(out, tmp.resolve(".out.old"));
        Files.createDirectories(tmp.resolve(".out.xyz.tmp")); // killed while writing: no marker
        Files.write(tmp.resolve(".out.xyz.tmp").resolve("model.safetensors"), new byte[10]);
        CheckpointWriter.recover(out);
        assertEquals(1, value(out));
        assertEquals(List.of(), hidden());
        // and a write over a recovered folder works as usual, leaving nothing beside it
        write(out, 3);
        assertEquals(3, value(out));
        assertTrue(hidden().isEmpty());
    }
}
