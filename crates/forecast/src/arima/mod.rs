//! Seasonal auto-ARIMA (Hyndman–Khandakar), estimated by CSS then exact maximum
//! likelihood through a Kalman filter on the state-space form.
