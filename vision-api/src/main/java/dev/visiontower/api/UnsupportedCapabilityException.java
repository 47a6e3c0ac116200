package dev.visiontower.api;

import dev.visiontower.api.spi.Capability;

/** The selected backend lacks a capability the request needs (training, a dtype, a device kind). */
public class UnsupportedCapabilityException extends VisionTowerException {
    private static final long serialVersionUID = 1L;
    private final transient Capability capability;

    public UnsupportedCapabilityException(String backend, Capability capability, String what) {
        super("backend '" + backend + "' does not support " + what + " (capability " + capability + ")");
        this.capability = capability;
    }

    public Capability capability() {
        return capability;
    }
}
