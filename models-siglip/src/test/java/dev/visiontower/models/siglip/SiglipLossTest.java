package dev.visiontower.models.siglip;

import dev.visiontower.api.Autograd;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** SigLIP's loss and its gradients (libtorch autograd) against open_clip's SigLipLoss. */
class SiglipLossTest {
    static final Tolerance GRAD = new Tolerance(1e-5, 1e-4);

    static Path golden(String c) {
        return Paths.get(System.getProperty("visiontower.testdata", "../testdata")).resolve("golden").resolve(c);
    }

    static void check(Tensor a, HostTensor e, Tolerance tol, String what) {
        Tolerance.Comparison c = tol.compare(a.toHost(), e);
        assertTrue(c.ok(), what + ": " + c.message());
    }

    @Test
    void lossAndLogitsMatchOpenClip() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Safetensors io = Safetensors.open(golden("loss_siglip").resolve("io.safetensors"));
             TensorScope s = b.newScope()) {
            Ops ops = b.ops();
            Tensor img = b.fromHost(io.read("image_features"));
            Tensor txt = b.fromHost(io.read("text_features"));
            Tensor scale = b.fromHost(io.read("logit_scale"));
            Tensor bias = b.fromHost(io.read("logit_bias"));
            check(SiglipLoss.logitsPerImage(ops, img, txt, scale, bias), io.read("logits_per_image"), Tolerance.FLOAT32,
                    "logits");
            check(SiglipLoss.loss(ops, img, txt, scale, bias), io.read("loss"), Tolerance.FLOAT32, "loss");
        }
    }

    @Test
    void gradientsMatchTorchAutograd() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Safetensors io = Safetensors.open(golden("loss_grads").resolve("io.safetensors"));
             TensorScope s = b.newScope()) {
            Ops ops = b.ops();
            Autograd ag = b.autograd();
            Tensor img = ag.requireGrad(b.fromHost(io.read("image_features")));
            Tensor txt = ag.requireGrad(b.fromHost(io.read("text_features")));
            Tensor t = ag.requireGrad(b.fromHost(io.read("siglip.log_logit_scale")));
            Tensor bias = ag.requireGrad(b.fromHost(io.read("siglip.logit_bias")));
            Tensor loss = SiglipLoss.loss(ops, img, txt, ops.exp(t), bias);
            check(loss, io.read("siglip.loss"), Tolerance.FLOAT32, "loss");
            ag.backward(loss);
            check(ag.grad(img), io.read("siglip.grad.image_features"), GRAD, "grad image");
            check(ag.grad(txt), io.read("siglip.grad.text_features"), GRAD, "grad text");
            check(ag.grad(t), io.read("siglip.grad.log_logit_scale"), GRAD, "grad log scale");
            check(ag.grad(bias), io.read("siglip.grad.logit_bias"), GRAD, "grad bias");
            Tensor rawI = ag.requireGrad(b.fromHost(io.read("image_features_raw")));
            Tensor rawT = ag.requireGrad(b.fromHost(io.read("text_features_raw")));
            Tensor t2 = ag.requireGrad(b.fromHost(io.read("siglip.log_logit_scale")));
            Tensor b2 = ag.requireGrad(b.fromHost(io.read("siglip.logit_bias")));
            ag.backward(SiglipLoss.loss(ops, ops.l2Normalize(rawI, -1, 1e-12), ops.l2Normalize(rawT, -1, 1e-12),
                    ops.exp(t2), b2));
            check(ag.grad(rawI), io.read("siglip.grad.image_features_raw"), GRAD, "grad raw image");
            check(ag.grad(rawT), io.read("siglip.grad.text_features_raw"), GRAD, "grad raw text");
        }
    }
}
