"""Search interest: Baidu Index and WeChat Index."""
