package dev.visiontower.models.clip;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.train.AdamW;
import dev.visiontower.api.train.ContrastiveTrainer;
import dev.visiontower.api.train.TrainableDualEncoder;
import dev.visiontower.api.train.UpdateTolerance;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two AdamW steps on clip_full against torch.optim.AdamW: loss, every gradient, every weight after each step. */
class ClipTrainStepTest {
    static final Tolerance GRAD = new Tolerance(1e-5, 1e-4);
    static final double LR = 1e-3;
    static final double EPS = 1e-6;

    /** Every tensor at 1e-5 + 1e-4|b|; zero-gradient elements per {@link UpdateTolerance}. */
    static void checkAll(String prefix, Map<String, HostTensor> got, Safetensors io, int steps) {
        java.util.List<String> bad = new java.util.ArrayList<>();
        for (Map.Entry<String, HostTensor> e : got.entrySet()) {
            String m = UpdateTolerance.check(e.getValue(), io.read(prefix + e.getKey()), io.read("grad." + e.getKey()),
                    GRAD, steps, LR, EPS);
            if (m != null) {
                bad.add(prefix + e.getKey() + ": " + m);
            }
        }
        assertTrue(bad.isEmpty(), String.join("\n", bad));
        assertEquals(78, got.size(), prefix + " tensors compared");
    }

    @Test
    void twoAdamWStepsMatchTorch() {
        twoSteps(false);
    }

    /** With gradient checkpointing (blocks recomputed in the backward pass) the same numbers come out. */
    @Test
    void twoAdamWStepsWithGradientCheckpointingMatchTorch() {
        twoSteps(true);
    }

    private static void twoSteps(boolean checkpointing) {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Checkpoint ckpt = Checkpoint.open(Golden.dir("clip_full"));
             Safetensors io = Safetensors.open(Golden.dir("train_step_clip").resolve("io.safetensors"));
             TrainableDualEncoder model = Models.detect(ckpt).definition().loadForTraining(ckpt, b)) {
            long before = b.liveTensors();
            ContrastiveTrainer trainer = new ContrastiveTrainer(model, b, AdamW.Betas.CLIP, 0.2)
                    .gradientCheckpointing(checkpointing);
            HostTensor px = io.read("pixel_values");
            Encoding text = new Encoding(io.read("input_ids"), io.read("attention_mask"));

            ContrastiveTrainer.Gradients g = trainer.gradients(px, text);
            assertEquals(io.read("loss").floats()[0], g.loss(), 1e-5);
            checkAll("grad.", model.toCheckpoint(g.byParameter()), io, 0);
            trainer.apply(g.byParameter(), LR);
            checkAll("after.", model.checkpointWeights(), io, 1);

            ContrastiveTrainer.Gradients g2 = trainer.gradients(px, text);
            assertEquals(io.read("loss_step2").floats()[0], g2.loss(), 1e-5);
            trainer.apply(g2.byParameter(), LR);
            checkAll("after2.", model.checkpointWeights(), io, 2);
            assertEquals(before, b.liveTensors(), "a step leaves no tensor behind");
        }
    }

    /**
     * bfloat16 autocast: the loss and gradients follow the float32 ones to bfloat16 accuracy, without being the
     * float32 computation (so autocast is really on), and parameters stay float32.
     */
    @Test
    void bf16AutocastStepFollowsFloat32() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Checkpoint ckpt = Checkpoint.open(Golden.dir("clip_full"));
             Safetensors io = Safetensors.open(Golden.dir("train_step_clip").resolve("io.safetensors"));
             TrainableDualEncoder model = Models.detect(ckpt).definition().loadForTraining(ckpt, b)) {
            ContrastiveTrainer trainer = new ContrastiveTrainer(model, b, AdamW.Betas.CLIP, 0.2);
            HostTensor px = io.read("pixel_values");
            Encoding text = new Encoding(io.read("input_ids"), io.read("attention_mask"));
            ContrastiveTrainer.Gradients full = trainer.gradients(px, text);
            ContrastiveTrainer.Gradients mixed = trainer.mixedPrecision(dev.visiontower.api.DType.BFLOAT16)
                    .gradients(px, text);
            assertEquals(full.loss(), mixed.loss(), 5e-2 * Math.abs(full.loss()), "loss");
            assertTrue(full.loss() != mixed.loss(), "bfloat16 products change the loss a little");
            double dot = 0;
            double nf = 0;
            double nm = 0;
            for (Map.Entry<String, HostTensor> e : full.byParameter().entrySet()) {
                float[] f = e.getValue().floats();
                HostTensor m = mixed.byParameter().get(e.getKey());
                assertEquals(dev.visiontower.api.DType.FLOAT32, m.dtype(), e.getKey() + " gradient dtype");
                float[] g = m.floats();
                for (int i = 0; i < f.length; i++) {
                    dot += (double) f[i] * g[i];
                    nf += (double) f[i] * f[i];
                    nm += (double) g[i] * g[i];
                }
            }
            double cos = dot / Math.sqrt(nf * nm);
            assertTrue(cos > 0.99, "cosine of all gradients, float32 vs bfloat16 autocast: " + cos);
            // back to float32: the same numbers as the first pass (autocast state and weight-cast cache cleared)
            ContrastiveTrainer.Gradients again = trainer.mixedPrecision(null).gradients(px, text);
            assertEquals(full.loss(), again.loss(), 0.0);
        }
    }
}
