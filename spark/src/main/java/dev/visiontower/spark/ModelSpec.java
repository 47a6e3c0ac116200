package dev.visiontower.spark;

import java.io.Serializable;

/**
 * Which model an executor loads: the checkpoint directory (a path every executor can read: a shared mount or a file
 * shipped with {@code --files}/{@code --archives}), the backend (null: {@code -Dvisiontower.backend},
 * {@code $VISIONTOWER_BACKEND}, else the best available, as on the command line), device and dtype. One loaded model
 * per spec and JVM.
 */
record ModelSpec(String modelPath, String backend, String device, String dtype) implements Serializable {
}
