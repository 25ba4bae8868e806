"""Key custody (鑰匙寄存): sealed key bags a client deposits, taken out and returned."""
