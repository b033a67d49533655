"""Eastmoney Guba (东方财富股吧) forum list pages."""
