package dev.visiontower.backend.jcuda;

import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.VisionTowerException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import jcuda.nvrtc.JNvrtc;
import jcuda.nvrtc.nvrtcProgram;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * This module's CUDA kernels ({@code kernels.cu}) loaded into one device's primary context: from the PTX that the
 * build compiled with {@code nvcc}, or compiled here by NVRTC. One instance per device and source, shared by every
 * backend on that device.
 */
final class Kernels {
    static final String RESOURCE_DIR = "/dev/visiontower/backend/jcuda/";
    static final String PTX = "kernels.ptx";
    static final String FATBIN = "kernels.fatbin";
    /** All kernels as sm_90a machine code (wgmma needs the architecture-specific target), loaded for tile=wgmma. */
    static final String CUBIN_SM90A = "kernels_sm90a.cubin";
    static final String SOURCE = "kernels.cu";
    /** The null device pointer, for optional kernel arguments. */
    static final CUdeviceptr NULL = new CUdeviceptr();

    private static final Map<String, Kernels> LOADED = new HashMap<>();

    final String origin;
    private final CUmodule module;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final int multiprocessors;

    private Kernels(CUmodule module, String origin, int multiprocessors) {
        this.module = module;
        this.origin = origin;
        this.multiprocessors = multiprocessors;
    }

    /** Whether the jar carries build-time PTX. */
    static boolean shippedPtx() {
        return Kernels.class.getResource(RESOURCE_DIR + PTX) != null;
    }

    /** Whether the jar carries the build-time sm_90a machine code (the wgmma kernels). */
    static boolean shippedSm90a() {
        return Kernels.class.getResource(RESOURCE_DIR + CUBIN_SM90A) != null;
    }

    /** Whether the jar carries build-time machine code (a fat binary). */
    static boolean shippedFatbin() {
        return Kernels.class.getResource(RESOURCE_DIR + FATBIN) != null;
    }

    /**
     * Loads the kernels for a device (its context must be current).
     *
     * @param mode {@code auto} (shipped fat binary, else shipped PTX, else NVRTC), {@code ptx} or {@code nvrtc}
     * @param sm90a the sm_90a build, whose wgmma kernels are real (Hopper only): the shipped sm_90a machine code in
     *              {@code auto} mode, else NVRTC for sm_90a; checked by running {@code vt_wgmma_available}
     */
    static synchronized Kernels load(CudaDriver.Gpu gpu, String mode, boolean sm90a) {
        String key = gpu.ordinal() + "/" + mode + (sm90a ? "/sm90a" : "");
        Kernels k = LOADED.get(key);
        if (k != null) {
            return k;
        }
        if (sm90a) {
            k = loadSm90a(gpu, mode);
            LOADED.put(key, k);
            return k;
        }
        List<String> tried = new ArrayList<>();
        if (mode.equals("auto")) {
            k = shipped(FATBIN, "fat binary", "fat binary built with nvcc at build time (sm_80 and sm_90 machine code, "
                    + "compute_80 PTX; " + gpu.arch() + " here)", gpu, tried);
        }
        if (k == null && !mode.equals("nvrtc")) {
            String ptx = resource(PTX);
            if (ptx == null) {
                tried.add("no build-time PTX in the jar (built without nvcc)");
            } else {
                try {
                    k = new Kernels(moduleFrom(ptx), "PTX built with nvcc at build time (compute_80, JIT-compiled for "
                            + gpu.arch() + " by the driver)", gpu.multiprocessors());
                } catch (RuntimeException e) {
                    tried.add("the shipped PTX did not load: " + e.getMessage());
                }
            }
        }
        if (k == null && !mode.equals("ptx")) {
            try {
                String[] version = new String[1];
                String ptx = nvrtc(version, "compute_" + gpu.major() + gpu.minor());
                k = new Kernels(moduleFrom(ptx), "compiled at run time by NVRTC " + version[0] + " for " + gpu.arch(),
                        gpu.multiprocessors());
            } catch (Throwable t) { // native loading errors included
                tried.add("NVRTC: " + JCudaNatives.reason(t));
            }
        }
        if (k == null) {
            throw new VisionTowerException("jcuda: cannot load the CUDA kernels: " + String.join("; ", tried));
        }
        LOADED.put(key, k);
        return k;
    }

    private static Kernels loadSm90a(CudaDriver.Gpu gpu, String mode) {
        if (gpu.major() != 9 || gpu.minor() != 0) {
            throw new InvalidInputException("jcuda: tile=wgmma needs a compute capability 9.0 GPU"
                    + " (Hopper: H100, H200, GH200); GPU " + gpu.ordinal() + " is " + gpu.name() + ", " + gpu.arch());
        }
        List<String> tried = new ArrayList<>();
        Kernels k = null;
        if (mode.equals("auto")) {
            k = shipped(CUBIN_SM90A, "sm_90a machine code", "sm_90a machine code built with nvcc at build time (wgmma)",
                    gpu, tried);
        }
        if (k == null && !mode.equals("ptx")) {
            try {
                String[] version = new String[1];
                String ptx = nvrtc(version, "compute_90a");
                k = new Kernels(moduleFrom(ptx), "compiled at run time by NVRTC " + version[0] + " for sm_90a (wgmma)",
                        gpu.multiprocessors());
            } catch (Throwable t) { // native loading errors included
                tried.add("NVRTC: " + JCudaNatives.reason(t));
            }
        }
        if (k == null) {
            throw new VisionTowerException("jcuda: cannot load the sm_90a kernels that tile=wgmma needs: "
                    + (mode.equals("ptx") ? "kernels=ptx has no sm_90a build; " : "") + String.join("; ", tried));
        }
        // the entry points exist in every build; only an sm_90a build has the wgmma instructions in them
        CUdeviceptr flag = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(flag, 4);
        try {
            JCudaDriver.cuMemsetD32(flag, 0, 1);
            k.launch(null, "vt_wgmma_available", 1, 1, 1, 1, 0, flag);
            int[] out = new int[1];
            JCudaDriver.cuMemcpyDtoH(jcuda.Pointer.to(out), flag, 4);
            if (out[0] != 1) {
                throw new VisionTowerException("jcuda: the sm_90a kernels were loaded (" + k.origin
                        + ") but report no wgmma support");
            }
        } finally {
            JCudaDriver.cuMemFree(flag);
        }
        return k;
    }

    /** The kernels from a build-time binary in the jar, or null with the reason added to {@code tried}. */
    private static Kernels shipped(String resource, String what, String origin, CudaDriver.Gpu gpu,
                                   List<String> tried) {
        byte[] image = bytes(resource);
        if (image == null) {
            tried.add("no build-time " + what + " in the jar");
            return null;
        }
        try {
            CUmodule m = new CUmodule();
            JCudaDriver.cuModuleLoadData(m, image);
            return new Kernels(m, origin, gpu.multiprocessors());
        } catch (RuntimeException e) {
            tried.add("the shipped " + what + " did not load: " + e.getMessage());
            return null;
        }
    }

    private static CUmodule moduleFrom(String ptx) {
        CUmodule m = new CUmodule();
        JCudaDriver.cuModuleLoadData(m, ptx);
        return m;
    }

    static byte[] bytes(String name) {
        try (InputStream in = Kernels.class.getResourceAsStream(RESOURCE_DIR + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new VisionTowerException("jcuda: cannot read " + name + " from the jar: " + e.getMessage(), e);
        }
    }

    static String resource(String name) {
        try (InputStream in = Kernels.class.getResourceAsStream(RESOURCE_DIR + name)) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new VisionTowerException("jcuda: cannot read " + name + " from the jar: " + e.getMessage(), e);
        }
    }

    private static String nvrtc(String[] version, String arch) {
        String err = JCudaNatives.extract(JCudaNatives.NVRTC);
        if (err != null) {
            throw new VisionTowerException(err);
        }
        JNvrtc.setExceptionsEnabled(true);
        int[] major = new int[1];
        int[] minor = new int[1];
        JNvrtc.nvrtcVersion(major, minor);
        version[0] = major[0] + "." + minor[0];
        String src = resource(SOURCE);
        nvrtcProgram prog = new nvrtcProgram();
        JNvrtc.nvrtcCreateProgram(prog, src, SOURCE, 0, null, null);
        try {
            List<String> opts = new ArrayList<>(List.of("--gpu-architecture=" + arch, "-std=c++17"));
            for (String home : new String[] {System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
                if (home != null && Files.isDirectory(Path.of(home, "include"))) {
                    opts.add("--include-path=" + Path.of(home, "include"));
                    break;
                }
            }
            try {
                JNvrtc.nvrtcCompileProgram(prog, opts.size(), opts.toArray(new String[0]));
            } catch (RuntimeException e) {
                String[] log = new String[1];
                JNvrtc.nvrtcGetProgramLog(prog, log);
                throw new VisionTowerException("compiling " + SOURCE + " failed: " + e.getMessage() + "\n" + log[0], e);
            }
            String[] ptx = new String[1];
            JNvrtc.nvrtcGetPTX(prog, ptx);
            return ptx[0];
        } finally {
            JNvrtc.nvrtcDestroyProgram(prog);
        }
    }

    synchronized CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            JCudaDriver.cuModuleGetFunction(f, module, name);
            functions.put(name, f);
        }
        return f;
    }

    /** A grid-stride kernel over {@code n} elements: 256 threads per block, at most 32 blocks per multiprocessor. */
    void launch1d(CUstream stream, String name, long n, Object... args) {
        if (n <= 0) {
            return;
        }
        long blocks = Math.min((n + 255) / 256, (long) multiprocessors * 32);
        launch(stream, name, (int) blocks, 1, 1, 256, 0, args);
    }

    /** One block of {@code threads} per row. */
    void launchRows(CUstream stream, String name, long rows, int threads, Object... args) {
        if (rows <= 0) {
            return;
        }
        if (rows > Integer.MAX_VALUE) {
            throw new VisionTowerException("jcuda: " + rows + " rows exceed one launch");
        }
        launch(stream, name, (int) rows, 1, 1, threads, 0, args);
    }

    private final Map<String, Integer> sharedLimits = new HashMap<>();

    /** Lets {@code name} use {@code bytes} of dynamic shared memory (beyond the default 48 KiB), once per function. */
    private synchronized void allowShared(String name, int bytes) {
        Integer done = sharedLimits.get(name);
        if (done == null || done < bytes) {
            JCudaDriver.cuFuncSetAttribute(function(name),
                    jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
            sharedLimits.put(name, bytes);
        }
    }

    void launch(CUstream stream, String name, int gx, int gy, int gz, int threads, int sharedBytes, Object... args) {
        if (sharedBytes > 48 * 1024) {
            allowShared(name, sharedBytes);
        }
        NativePointerObject[] ps = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            ps[i] = param(args[i]);
        }
        JCudaDriver.cuLaunchKernel(function(name), gx, gy, gz, threads, 1, 1, sharedBytes, stream, Pointer.to(ps),
                null);
    }

    private static Pointer param(Object a) {
        if (a == null) {
            return Pointer.to(NULL);
        }
        if (a instanceof Pointer) {
            return Pointer.to((Pointer) a);
        }
        if (a instanceof Integer) {
            return Pointer.to(new int[] {(Integer) a});
        }
        if (a instanceof Long) {
            return Pointer.to(new long[] {(Long) a});
        }
        if (a instanceof Float) {
            return Pointer.to(new float[] {(Float) a});
        }
        if (a instanceof long[]) { // a struct of int64 fields, passed by value
            return Pointer.to((long[]) a);
        }
        throw new IllegalArgumentException("kernel argument of type " + a.getClass());
    }

    /** A {@code Layout} struct: ndim, shape[8], stride[8]. */
    static long[] layout(long[] shape, long[] stride) {
        if (shape.length > 8) {
            throw new VisionTowerException("jcuda: tensors of rank " + shape.length + " exceed the kernels' 8");
        }
        long[] s = new long[17];
        s[0] = shape.length;
        System.arraycopy(shape, 0, s, 1, shape.length);
        System.arraycopy(stride, 0, s, 9, stride.length);
        return s;
    }

    /** A {@code Layout2} struct: ndim, shape[8], strides of a[8], strides of b[8]. */
    static long[] layout2(long[] shape, long[] sa, long[] sb) {
        if (shape.length > 8) {
            throw new VisionTowerException("jcuda: tensors of rank " + shape.length + " exceed the kernels' 8");
        }
        long[] s = new long[25];
        s[0] = shape.length;
        System.arraycopy(shape, 0, s, 1, shape.length);
        System.arraycopy(sa, 0, s, 9, sa.length);
        System.arraycopy(sb, 0, s, 17, sb.length);
        return s;
    }
}
