"""Regulator notices: bse.cn, CSRC and cninfo."""
