// Key Vault for the two secrets the app cannot avoid: the Twilio auth token (Twilio has no Entra
// sign-in) and the HMAC key for verification codes. Access is by Azure RBAC only, no access
// policies. Secret names allow only letters, digits and dashes, hence VerificationCodeSecret for
// the VERIFICATION_CODE_SECRET setting.
param name string
param location string
param tags object
@secure()
param twilioAuthToken string
@secure()
param verificationCodeSecret string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource twilioAuthTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'TwilioAuthToken'
  properties: {
    value: twilioAuthToken
    contentType: 'Twilio auth token'
  }
}

resource verificationCodeSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'VerificationCodeSecret'
  properties: {
    value: verificationCodeSecret
    contentType: 'HMAC key for verification codes'
  }
}

output name string = vault.name
output twilioAuthTokenSecretName string = twilioAuthTokenSecret.name
output verificationCodeSecretName string = verificationCodeSecretSecret.name
