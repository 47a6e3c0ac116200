package dev.visiontower.backend.onnx.internal;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * Environment variables for native libraries that read them when they start. Java cannot change its own process
 * environment ({@link System#getenv} is a snapshot), so this calls libc's {@code setenv} through JNA; a library
 * loaded afterwards sees the value through {@code getenv}. Values the user already set are never replaced.
 */
public final class NativeEnvironment {
    /** The one libc function used. */
    public interface LibC extends Library {
        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }

    private static volatile LibC libc;

    private NativeEnvironment() {
    }

    private static LibC libc() {
        LibC l = libc;
        if (l == null) {
            synchronized (NativeEnvironment.class) {
                if (libc == null) {
                    libc = Native.load("c", LibC.class);
                }
                l = libc;
            }
        }
        return l;
    }

    /**
     * Sets {@code name} to {@code value} in this process unless it is already set.
     *
     * @return the value now in effect
     * @throws UnsatisfiedLinkError or another {@link Error} when JNA or libc cannot be loaded
     */
    public static String setIfAbsent(String name, String value) {
        LibC c = libc();
        if (c.setenv(name, value, 0) != 0) {
            throw new IllegalStateException("setenv(" + name + ") failed");
        }
        return c.getenv(name);
    }

    /** The variable as the process sees it now (not {@link System#getenv}'s start-up snapshot). */
    public static String get(String name) {
        return libc().getenv(name);
    }
}
