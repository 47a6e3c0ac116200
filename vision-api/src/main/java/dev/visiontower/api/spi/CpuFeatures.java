package dev.visiontower.api.spi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The host CPU's model and the instruction-set features that decide which kernels numeric engines pick (AVX-512,
 * VNNI, bfloat16, AMX), read once from {@code /proc/cpuinfo}; empty where that file does not exist.
 */
public final class CpuFeatures {
    /** The features worth reporting for inference kernels, in order of capability. */
    private static final List<String> REPORTED = List.of("avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni",
            "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_int8", "asimd", "sve");

    private static volatile CpuFeatures current;

    private final String model;
    private final Set<String> flags;
    private final String arch;

    CpuFeatures(String model, Set<String> flags, String arch) {
        this.model = model;
        this.flags = Set.copyOf(flags);
        this.arch = arch;
    }

    /** This machine's CPU. */
    public static CpuFeatures current() {
        CpuFeatures c = current;
        if (c == null) {
            c = read(Path.of("/proc/cpuinfo"), System.getProperty("os.arch", ""));
            current = c;
        }
        return c;
    }

    static CpuFeatures read(Path cpuinfo, String arch) {
        String model = "unknown CPU";
        Set<String> flags = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (key.equals("model name") && model.equals("unknown CPU")) {
                    model = value;
                } else if ((key.equals("flags") || key.equals("Features")) && flags.isEmpty()) {
                    flags.addAll(Arrays.asList(value.split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: nothing known
        }
        return new CpuFeatures(model, flags, arch);
    }

    public String model() {
        return model;
    }

    public boolean has(String flag) {
        return flags.contains(flag.toLowerCase(Locale.ROOT));
    }

    /** Whether this is an x86-64 machine (where the AVX/AMX flags apply). */
    public boolean isX86() {
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /** The reported features this CPU has, e.g. {@code [avx2, fma, avx512f, avx512_vnni, amx_bf16]}. */
    public List<String> inferenceFeatures() {
        List<String> out = new ArrayList<>();
        for (String f : REPORTED) {
            if (flags.contains(f)) {
                out.add(f);
            }
        }
        return out;
    }

    /** One line: model and the reported features. */
    @Override
    public String toString() {
        return model + " [" + String.join(" ", inferenceFeatures()) + "]";
    }
}
