"""Personal data (個人資料保護法): the Art. 8 collection notice, the periodic review of who may
access each site's confidential information, the incident register and the evidence pack."""
