package dev.visiontower.models.clip;

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

import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIP's loss and its gradients (libtorch autograd) against open_clip's ClipLoss. */
class ClipLossTest {
    static final Tolerance GRAD = new Tolerance(1e-5, 1e-4);

    static void check(Tensor a, HostTensor e, Tolerance tol, String what) {
        Tolerance.Comparison c = tol.compare(a.toHost(), e);
        assertTrue(c.ok(), what + ": " + c.message());
    }

    @Test
    void lossAndLogitsMatchOpenClip() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Safetensors io = Safetensors.open(Golden.dir("loss_clip").resolve("io.safetensors"));
             TensorScope s = b.newScope()) {
            Ops ops = b.ops();
            Tensor img = b.fromHost(io.read("image_features"));
            Tensor txt = b.fromHost(io.read("text_features"));
            Tensor scale = b.fromHost(io.read("logit_scale"));
            check(ClipLoss.logitsPerImage(ops, img, txt, scale), io.read("logits_per_image"), Tolerance.FLOAT32, "logits");
            check(ClipLoss.loss(ops, img, txt, scale), io.read("loss"), Tolerance.FLOAT32, "loss");
        }
    }

    @Test
    void gradientsMatchTorchAutograd() {
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Safetensors io = Safetensors.open(Golden.dir("loss_grads").resolve("io.safetensors"));
             TensorScope s = b.newScope()) {
            Ops ops = b.ops();
            Autograd ag = b.autograd();
            // w.r.t. the normalised features and the log scale
            Tensor img = ag.requireGrad(b.fromHost(io.read("image_features")));
            Tensor txt = ag.requireGrad(b.fromHost(io.read("text_features")));
            Tensor t = ag.requireGrad(b.fromHost(io.read("clip.log_logit_scale")));
            Tensor loss = ClipLoss.loss(ops, img, txt, ops.exp(t));
            check(loss, io.read("clip.loss"), Tolerance.FLOAT32, "loss");
            ag.backward(loss);
            check(ag.grad(img), io.read("clip.grad.image_features"), GRAD, "grad image");
            check(ag.grad(txt), io.read("clip.grad.text_features"), GRAD, "grad text");
            check(ag.grad(t), io.read("clip.grad.log_logit_scale"), GRAD, "grad log scale");
            // w.r.t. the raw features through L2 normalisation
            Tensor rawI = ag.requireGrad(b.fromHost(io.read("image_features_raw")));
            Tensor rawT = ag.requireGrad(b.fromHost(io.read("text_features_raw")));
            Tensor t2 = ag.requireGrad(b.fromHost(io.read("clip.log_logit_scale")));
            ag.backward(ClipLoss.loss(ops, ops.l2Normalize(rawI, -1, 1e-12), ops.l2Normalize(rawT, -1, 1e-12), ops.exp(t2)));
            check(ag.grad(rawI), io.read("clip.grad.image_features_raw"), GRAD, "grad raw image");
            check(ag.grad(rawT), io.read("clip.grad.text_features_raw"), GRAD, "grad raw text");
        }
    }
}
