package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.Models;
import dev.visiontower.api.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training killed with SIGKILL at random moments, again and again: after every kill the output folder holds a
 * completed epoch or nothing, and {@code --resume} (or the same command again) carries the run to its end.
 */
class TrainKillTest {
    @TempDir
    Path tmp;

    private Process start(List<String> args) throws Exception {
        return CliTest.startChild(tmp.resolve("log.txt"), args);
    }

    /** A checkpoint that loads and says which epoch it completed, or -1 for no output at all. */
    private static int completedEpoch(Path out) throws Exception {
        if (!Files.exists(out)) {
            return -1;
        }
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals("clip", Models.detect(c).family().name());
        }
        Path state = out.resolve("trainer_state.json");
        assertTrue(Files.isRegularFile(state), out + " holds a model but no completed epoch");
        return new ObjectMapper().readTree(state.toFile()).get("epoch").asInt();
    }

    @Test
    void killedAtRandomMomentsTheRunStillFinishes() throws Exception {
        Path data = tmp.resolve("data");
        CliTest.Result made = CliTest.run("make-shapes", "--output", data.toString(), "--count", "96", "--heldout",
                "16", "--seed", "3");
        assertEquals(0, made.code(), made.err());
        Path out = tmp.resolve("out");
        Path staged = tmp.resolve(".out.init");
        List<String> fresh = List.of("train", "--preset", "shapes-clip", "--data", data.toString(), "--output",
                out.toString(), "--epochs", "10", "--batch", "16", "--warmup", "2", "--seed", "1");
        List<String> resume = List.of("train", "--resume", out.toString(), "--data", data.toString(), "--epochs", "10",
                "--batch", "16", "--warmup", "2", "--seed", "1");
        Random rnd = new Random(11);
        int before = -1;
        List<String> seen = new ArrayList<>();
        for (int kill = 0; kill < 4; kill++) {
            Process p = start(Files.exists(out) || Files.isDirectory(staged) ? resume : fresh);
            // about JVM start-up and model load, then later and later into training (plus jitter); a slower machine
            // moves the kills earlier, which the invariants below cover as well
            long delay = new long[] {1800, 3200, 2800, 3000}[kill] + rnd.nextInt(400);
            boolean ended = p.waitFor(delay, TimeUnit.MILLISECONDS);
            if (!ended) {
                p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
                p.waitFor(30, TimeUnit.SECONDS);
            }
            int epoch = completedEpoch(out);
            seen.add(delay + " ms -> epoch " + epoch);
            assertTrue(epoch >= before, "a kill never loses a completed epoch: " + seen);
            before = epoch;
        }
        if (before < 10) {
            Process p = start(Files.exists(out) || Files.isDirectory(staged) ? resume : fresh);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the last run finishes");
            assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log.txt"), StandardCharsets.UTF_8));
        }
        String log = Files.readString(tmp.resolve("log.txt"), StandardCharsets.UTF_8);
        assertEquals(10, completedEpoch(out), seen + "\n" + log);
        try (var left = Files.list(tmp)) {
            List<String> names = left.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(".out")).toList();
            assertTrue(names.isEmpty(), "nothing stale beside the output: " + names);
        }
        System.out.println("kills: " + seen);
    }
}
