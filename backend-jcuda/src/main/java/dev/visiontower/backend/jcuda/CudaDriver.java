package dev.visiontower.backend.jcuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The CUDA driver as seen by this JVM: loaded and initialised once, with each device's properties and its retained
 * primary context (shared by every backend on that device and kept for the life of the process, so tensors that
 * outlive their backend stay valid).
 */
final class CudaDriver {
    /** One GPU. */
    record Gpu(int ordinal, String name, int major, int minor, int multiprocessors, long memoryBytes, int clockKhz,
               CUcontext context) {
        String arch() {
            return "sm_" + major + minor;
        }
    }

    private static String failure;
    private static List<Gpu> gpus;
    private static int driverVersion;

    private CudaDriver() {
    }

    /** Loads and initialises the driver once; null when it works, else the reason it does not. */
    static synchronized String init() {
        if (gpus != null || failure != null) {
            return failure;
        }
        String extract = JCudaNatives.extract(JCudaNatives.DRIVER);
        if (extract != null) {
            failure = extract;
            return failure;
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] v = new int[1];
            JCudaDriver.cuDriverGetVersion(v);
            driverVersion = v[0];
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            List<Gpu> list = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) {
                CUdevice d = new CUdevice();
                JCudaDriver.cuDeviceGet(d, i);
                byte[] name = new byte[256];
                JCudaDriver.cuDeviceGetName(name, name.length, d);
                int len = 0;
                while (len < name.length && name[len] != 0) {
                    len++;
                }
                long[] mem = new long[1];
                JCudaDriver.cuDeviceTotalMem(mem, d);
                CUcontext ctx = new CUcontext();
                JCudaDriver.cuDevicePrimaryCtxRetain(ctx, d);
                list.add(new Gpu(i, new String(name, 0, len, StandardCharsets.UTF_8),
                        attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                        attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                        attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), mem[0],
                        attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_CLOCK_RATE), ctx));
            }
            if (list.isEmpty()) {
                failure = "the NVIDIA driver reports no CUDA device";
                return failure;
            }
            gpus = List.copyOf(list);
            return null;
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, CudaException: never crash the caller
            failure = JCudaNatives.reason(t);
            return failure;
        }
    }

    private static int attribute(CUdevice d, int which) {
        int[] v = new int[1];
        JCudaDriver.cuDeviceGetAttribute(v, which, d);
        return v[0];
    }

    static synchronized List<Gpu> gpus() {
        return gpus == null ? List.of() : gpus;
    }

    /** Driver version as major.minor (e.g. 13.0). */
    static synchronized String driverVersion() {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }
}
