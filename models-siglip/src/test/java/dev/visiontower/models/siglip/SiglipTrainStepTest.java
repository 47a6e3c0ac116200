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
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two AdamW steps on siglip_full against torch.optim.AdamW (packed in_proj and the [1,1,D] probe included). */
class SiglipTrainStepTest {
    static final Tolerance GRAD = new Tolerance(1e-5, 1e-4);
    static final double LR = 1e-3;
    static final double EPS = 1e-6;

    /** As in the CLIP test: elements whose true gradient is zero (key biases) get the noise-update allowance. */
    static void checkAll(String prefix, Map<String, HostTensor> got, Safetensors io, int steps) {
        java.util.List<String> bad = new java.util.ArrayList<>();
        for (Map.Entry<String, HostTensor> e : got.entrySet()) {
            float[] a = e.getValue().toFloatArray();
            float[] b = io.read(prefix + e.getKey()).toFloatArray();
            float[] g = io.read("grad." + e.getKey()).toFloatArray();
            double noise = 0;
            for (float v : g) {
                if (Math.abs(v) < EPS) {
                    noise = Math.max(noise, Math.abs(v));
                }
            }
            double worst = 0;
            int at = -1;
            for (int i = 0; i < a.length; i++) {
                double bound = GRAD.atol() + GRAD.rtol() * Math.abs(b[i])
                        + (steps > 0 && Math.abs(g[i]) < EPS ? steps * 3 * LR * noise / EPS : 0);
                double r = Math.abs(a[i] - b[i]) / bound;
                if (r > worst) {
                    worst = r;
                    at = i;
                }
            }
            if (worst > 1) {
                bad.add(prefix + e.getKey() + ": element " + at + " got " + a[at] + ", expected " + b[at]
                        + " (reference gradient " + g[at] + ")");
            }
        }
        assertTrue(bad.isEmpty(), String.join("\n", bad));
        assertEquals(88, got.size(), prefix + " tensors compared");
    }

    @Test
    void twoAdamWStepsMatchTorch() {
        java.nio.file.Path golden = SiglipLossTest.golden("siglip_full");
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Checkpoint ckpt = Checkpoint.open(golden);
             Safetensors io = Safetensors.open(SiglipLossTest.golden("train_step_siglip").resolve("io.safetensors"));
             TrainableDualEncoder model = Models.detect(ckpt).family().loadForTraining(ckpt, b).orElseThrow()) {
            ContrastiveTrainer trainer = new ContrastiveTrainer(model, b, AdamW.Betas.CLIP, 0.2);
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
