package dev.visiontower.backend.libtorch;

import com.google.auto.service.AutoService;
import dev.visiontower.api.Backend;
import dev.visiontower.api.BackendUnavailableException;
import dev.visiontower.api.Device;
import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.BackendProvider;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.OptionSpec;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Provider of the {@code libtorch} backend. Construction is free; natives load in {@link #probe()}. */
@AutoService(BackendProvider.class)
public final class TorchBackendProvider implements BackendProvider {
    /** Name of the backend. */
    public static final String NAME = "libtorch";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.INFERENCE, Capability.TRAINING, Capability.FLOAT32, Capability.FLOAT16,
                Capability.BFLOAT16, Capability.INT8, Capability.CUDA);
    }

    @Override
    public Availability probe() {
        Throwable t = TorchNatives.load();
        if (t != null) {
            return Availability.unavailable("libtorch natives failed to load: " + rootMessage(t));
        }
        List<Device> devices = new ArrayList<>();
        devices.add(Device.CPU);
        int cuda = 0;
        try {
            if (org.bytedeco.pytorch.global.torch.cuda_is_available()) {
                cuda = org.bytedeco.pytorch.global.torch.cuda_device_count();
            }
        } catch (Throwable e) { // CPU build without CUDA symbols: CPU only
            cuda = 0;
        }
        for (int i = 0; i < cuda; i++) {
            devices.add(Device.cuda(i));
        }
        OneDnn dnnl = OneDnn.get();
        String cpu = dnnl != null ? "; CPU products on " + dnnl.description()
                : "; oneDNN unavailable (" + rootMessage(OneDnn.failure()) + "), CPU products on OpenBLAS";
        return Availability.available("libtorch 2.10.0 (bytedeco 1.5.13), " + (cuda > 0 ? cuda + " CUDA device(s)"
                : "CPU only") + cpu, devices);
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return c.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }

    @Override
    public List<OptionSpec> options() {
        return List.of(
                OptionSpec.bool(TorchBackend.ONEDNN_OPTION, true, "CPU transformer blocks and weight products on "
                        + "oneDNN 3.11 (packed weights, fused epilogues); false: libtorch's own kernels"),
                OptionSpec.choice(TorchBackend.ATTENTION_OPTION, "sdpa", "attention in oneDNN blocks: libtorch's "
                        + "fused scaled-dot-product attention, or two oneDNN products around a softmax", "sdpa",
                        "onednn"),
                OptionSpec.choice(TorchBackend.INT8_ACTIVATIONS_OPTION, "bfloat16 where the CPU has native "
                        + "bfloat16, else float32", "type of the activations between int8 products", "bfloat16",
                        "float32"));
    }

    @Override
    public Backend open(BackendOptions options) {
        Availability a = probe();
        if (!a.available()) {
            throw new BackendUnavailableException("backend 'libtorch' is not available: " + a.reason());
        }
        if (!a.devices().contains(options.device())) {
            throw new BackendUnavailableException("backend 'libtorch' has no device " + options.device()
                    + " here (devices: " + a.devices() + ")");
        }
        return new TorchBackend(options);
    }
}
