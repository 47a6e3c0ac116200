package dev.visiontower.models.siglip;

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

/** Two AdamW steps on siglip_full against torch.optim.AdamW (packed in_proj and the [1,1,D] probe included). */
class SiglipTrainStepTest {
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
        assertEquals(88, got.size(), prefix + " tensors compared");
    }

    @Test
    void twoAdamWStepsMatchTorch() {
        twoSteps(false);
    }

    /** Gradient checkpointing (MAP head and last-token pooling included) gives the same numbers. */
    @Test
    void twoAdamWStepsWithGradientCheckpointingMatchTorch() {
        twoSteps(true);
    }

    private static void twoSteps(boolean checkpointing) {
        java.nio.file.Path golden = SiglipLossTest.golden("siglip_full");
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Checkpoint ckpt = Checkpoint.open(golden);
             Safetensors io = Safetensors.open(SiglipLossTest.golden("train_step_siglip").resolve("io.safetensors"));
             TrainableDualEncoder model = Models.detect(ckpt).definition().loadForTraining(ckpt, b)) {
            ContrastiveTrainer trainer = new ContrastiveTrainer(model, b, AdamW.Betas.CLIP, 0.2)
                    .gradientCheckpointing(checkpointing);
            HostTensor px = io.read("pixel_values");
            Encoding text = new Encoding(io.read("input_ids"), null);
            ContrastiveTrainer.Gradients g = trainer.gradients(px, text);
            assertEquals(io.read("loss").floats()[0], g.loss(), 1e-5);
            checkAll("grad.", model.toCheckpoint(g.byParameter()), io, 0);
            trainer.apply(g.byParameter(), LR);
            checkAll("after.", model.checkpointWeights(), io, 1);
            ContrastiveTrainer.Gradients g2 = trainer.gradients(px, text);
            assertEquals(io.read("loss_step2").floats()[0], g2.loss(), 1e-5);
            trainer.apply(g2.byParameter(), LR);
            checkAll("after2.", model.checkpointWeights(), io, 2);
        }
    }
}
