package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMMetadataRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * {@code !llvm.loop} hints on a loop's back edge. Every loop is marked must-progress (kernels
 * have no infinite loops), which lets LLVM delete or vectorize loops without proving termination.
 */
final class LoopMetadata {
    private LoopMetadata() {}

    enum Hint { VECTORIZE, UNROLL_FULL }

    static void attach(LlvmModule m, LLVMValueRef backEdge, Hint... hints) {
        LLVMContextRef ctx = m.context();
        List<LLVMMetadataRef> ops = new ArrayList<>();
        LLVMMetadataRef self = LLVMTemporaryMDNode(ctx, Ir.pp(), 0);
        ops.add(self);
        ops.add(property(ctx, "llvm.loop.mustprogress", null));
        for (Hint h : hints) {
            switch (h) {
                case VECTORIZE -> ops.add(property(ctx, "llvm.loop.vectorize.enable", LLVMConstInt(LLVMInt1TypeInContext(ctx), 1, 0)));
                case UNROLL_FULL -> ops.add(property(ctx, "llvm.loop.unroll.full", null));
            }
        }
        LLVMMetadataRef id = LLVMMDNodeInContext2(ctx, Ir.pp(ops.toArray(new LLVMMetadataRef[0])), ops.size());
        // Replacing the placeholder makes the node refer to itself, as loop IDs must (and distinct).
        LLVMMetadataReplaceAllUsesWith(self, id);
        LLVMSetMetadata(backEdge, LLVMGetMDKindIDInContext(ctx, "llvm.loop", "llvm.loop".length()), LLVMMetadataAsValue(ctx, id));
    }

    private static LLVMMetadataRef property(LLVMContextRef ctx, String name, LLVMValueRef value) {
        LLVMMetadataRef key = LLVMMDStringInContext2(ctx, name, name.length());
        if (value == null) return LLVMMDNodeInContext2(ctx, Ir.pp(key), 1);
        return LLVMMDNodeInContext2(ctx, Ir.pp(key, LLVMValueAsMetadata(value)), 2);
    }
}
